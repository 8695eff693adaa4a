-- A routine plan's quota explained in Chinese too (#19), as the dashboard shows it in the
-- reader's language; plans written before keep their English text only.
ALTER TABLE routine_plans ADD COLUMN explanation_zh TEXT NOT NULL DEFAULT '';
