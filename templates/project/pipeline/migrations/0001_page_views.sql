-- The tables the stages own: every one has a `day DATE` column (a run replaces its date's rows).
CREATE TABLE page_views (day DATE NOT NULL, page TEXT NOT NULL, views INTEGER NOT NULL, PRIMARY KEY (day, page));
CREATE TABLE page_views_3d (day DATE NOT NULL, page TEXT NOT NULL, views INTEGER NOT NULL, PRIMARY KEY (day, page));
