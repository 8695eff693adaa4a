-- Routine follow-up plans (SPEC §3, R-RTN-1…5): one plan per month and quota holder (a unit, or a
-- consultant or office director in person), the households chosen with the reason for each, and
-- each unit's sampling cycles (D-RTN-2).

-- A month whose plan exists. Inserted in the planning transaction, so a second run (or a second
-- server instance) finds it and changes nothing.
CREATE TABLE routine_months (
    month           TEXT PRIMARY KEY,
    generated_at    TEXT NOT NULL,
    generated_by    BIGINT,
    -- set once every chosen household has its follow-up document
    documents_done_at  TEXT
);

CREATE TABLE routine_plans (
    month         TEXT NOT NULL REFERENCES routine_months(month),
    unit_id       BIGINT NOT NULL REFERENCES units(id),
    -- the consultant or office director whose own quota this is; 0 for a whole unit's
    staff_id      BIGINT NOT NULL,
    rule          TEXT NOT NULL,
    community_id  BIGINT,
    -- the households the quota is a share of, at the start of the period (D-RTN-1)
    households    BIGINT NOT NULL,
    quota         BIGINT NOT NULL,
    explanation   TEXT NOT NULL,
    seed          TEXT NOT NULL,
    -- the unit's sampling cycle at the end of the month, and whether it began this month
    cycle         BIGINT NOT NULL,
    new_cycle     BIGINT NOT NULL,
    PRIMARY KEY (month, unit_id, staff_id)
);

CREATE TABLE routine_plan_items (
    month              TEXT NOT NULL,
    unit_id            BIGINT NOT NULL,
    staff_id           BIGINT NOT NULL,
    household_id       BIGINT NOT NULL,
    customer_id        BIGINT,
    -- 1 for the sampled rounds (R-RTN-2…4), 0 for a consultant's own customers (R-RTN-1)
    sampled            BIGINT NOT NULL,
    cycle              BIGINT NOT NULL,
    -- why this household (JSON of the sampling reason)
    reason             TEXT NOT NULL,
    assignee_staff_id  BIGINT,
    -- NULL until the follow-up document exists (created in batches after the plan)
    follow_up_id       TEXT,
    PRIMARY KEY (month, unit_id, staff_id, household_id)
);
-- No foreign keys here: rows are written only by the planner, from the households and plans it
-- read in the same write, ~80,000 a month for a large company, and per-row foreign-key checks
-- were most of the time to store a month on PostgreSQL.
-- D-RTN-2: across units, a household gets at most one sampled routine follow-up a month.
CREATE UNIQUE INDEX routine_items_once_a_month ON routine_plan_items (month, household_id) WHERE sampled = 1;
CREATE INDEX routine_items_by_unit ON routine_plan_items (unit_id, staff_id, cycle);
-- the follow-ups still to write (NULL), and the item of a follow-up (retries)
CREATE INDEX routine_items_by_follow_up ON routine_plan_items (follow_up_id);

-- A unit's sampling cycles: households registered after a cycle began join the next one.
CREATE TABLE routine_cycles (
    unit_id        BIGINT NOT NULL,
    staff_id       BIGINT NOT NULL,
    cycle          BIGINT NOT NULL,
    started_month  TEXT NOT NULL,
    PRIMARY KEY (unit_id, staff_id, cycle)
);
