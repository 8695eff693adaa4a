-- The monthly figures (D-STA-2) select follow-ups by the month they are due; without this index
-- every figure of a month read the whole table.
CREATE INDEX follow_ups_by_due_month ON follow_ups (due_month, assignee_unit_id);
