-- The monthly figures (D-STA-2) rolled up per month × unit × community × category × level, kept
-- exact by triggers on the three projections they count (installed by the store from the
-- measures of D-STA-3, see server/store/src/rollups.rs), so a month's figures, the Service
-- Bulletin and its six-month trend read a few thousand rows instead of every follow-up.

-- A follow-up carries what the figures group it by: its sheet's category, complaint level and
-- community (its household's when it has no sheet); the sheet's triggers keep them current.
ALTER TABLE follow_ups ADD COLUMN community_id BIGINT;
ALTER TABLE follow_ups ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE follow_ups ADD COLUMN level TEXT NOT NULL DEFAULT 'none';
UPDATE follow_ups SET
    community_id = COALESCE((SELECT s.community_id FROM sheets s WHERE s.id = follow_ups.sheet_id),
                            (SELECT h.community_id FROM households h WHERE h.id = follow_ups.household_id)),
    category = COALESCE((SELECT s.category FROM sheets s WHERE s.id = follow_ups.sheet_id), kind),
    level = COALESCE((SELECT s.level FROM sheets s WHERE s.id = follow_ups.sheet_id), 'none');

-- One row per cell. A part's unit: the accepting unit of a sheet, the assignee unit of a
-- follow-up, the plan's unit of a routine round; community 0 when none. The information
-- columns count regardless of the clock: a reader subtracts those whose deadline has not passed.
CREATE TABLE monthly_rollups (
    month                TEXT NOT NULL,
    unit_id              BIGINT NOT NULL,
    community_id         BIGINT NOT NULL,
    category             TEXT NOT NULL,
    level                TEXT NOT NULL,
    sheets_accepted      BIGINT NOT NULL DEFAULT 0,
    sheets_valid         BIGINT NOT NULL DEFAULT 0,
    sheets_handled       BIGINT NOT NULL DEFAULT 0,
    follow_ups_due       BIGINT NOT NULL DEFAULT 0,
    follow_ups_done      BIGINT NOT NULL DEFAULT 0,
    information_due      BIGINT NOT NULL DEFAULT 0,
    information_on_time  BIGINT NOT NULL DEFAULT 0,
    overdue              BIGINT NOT NULL DEFAULT 0,
    unreachable          BIGINT NOT NULL DEFAULT 0,
    handling_sum         BIGINT NOT NULL DEFAULT 0,
    handling_rated       BIGINT NOT NULL DEFAULT 0,
    efficiency_sum       BIGINT NOT NULL DEFAULT 0,
    efficiency_rated     BIGINT NOT NULL DEFAULT 0,
    quality_sum          BIGINT NOT NULL DEFAULT 0,
    quality_rated        BIGINT NOT NULL DEFAULT 0,
    attitude_sum         BIGINT NOT NULL DEFAULT 0,
    attitude_rated       BIGINT NOT NULL DEFAULT 0,
    overall_sum          BIGINT NOT NULL DEFAULT 0,
    overall_rated        BIGINT NOT NULL DEFAULT 0,
    rated_1              BIGINT NOT NULL DEFAULT 0,
    rated_2              BIGINT NOT NULL DEFAULT 0,
    rated_3              BIGINT NOT NULL DEFAULT 0,
    rated_4              BIGINT NOT NULL DEFAULT 0,
    rated_5              BIGINT NOT NULL DEFAULT 0,
    routine_planned      BIGINT NOT NULL DEFAULT 0,
    routine_done         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (month, unit_id, community_id, category, level)
);

-- The hash of the installed triggers: a store whose measures changed reinstalls them and
-- recounts the roll-up once.
CREATE TABLE rollup_definition (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    hash  TEXT NOT NULL
);

-- The 24-hour rate counts only deadlines that have passed: the few information follow-ups
-- still before their deadline are found here and taken off the roll-up's count.
CREATE INDEX follow_ups_information_by_due ON follow_ups (due_at) WHERE kind = 'information';
-- The bulletin lists a month's overdue follow-ups earliest first.
CREATE INDEX follow_ups_overdue_by_month ON follow_ups (due_month, due_at, id) WHERE overdue_at IS NOT NULL;
