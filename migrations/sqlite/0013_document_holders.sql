-- Who holds each document on their phones: a follow-up's assignee (the staff member, else the
-- unit); a sheet's acceptor, accepting and handling units and its follow-ups' assignees (staff and
-- unit) — what a device's scope is made of. Each row carries the change-sequence number at which
-- the document last reached that holder: the document's own when it is written, the later one of
-- a follow-up's write that made a new holder of its sheet. The feed reads a device's documents
-- by (holder, seq), so a sync costs what its scope changed, not what the company wrote.
-- A holder is a staff member (unit_id 0) or a unit (staff_id 0); ids start at 1.
CREATE TABLE document_holders (
    document_id TEXT NOT NULL REFERENCES documents(id),
    staff_id    INTEGER NOT NULL,
    unit_id     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (document_id, staff_id, unit_id)
);
CREATE INDEX document_holders_by_staff ON document_holders (staff_id, seq, document_id);
CREATE INDEX document_holders_by_unit ON document_holders (unit_id, seq, document_id);

INSERT INTO document_holders (document_id, staff_id, unit_id, seq)
SELECT f.id, COALESCE(f.assignee_staff_id, 0),
       CASE WHEN f.assignee_staff_id IS NULL THEN f.assignee_unit_id ELSE 0 END, d.seq
FROM follow_ups f JOIN documents d ON d.id = f.id;

INSERT INTO document_holders (document_id, staff_id, unit_id, seq)
SELECT s.id, s.accepted_by, 0, d.seq FROM sheets s JOIN documents d ON d.id = s.id
UNION SELECT s.id, 0, s.accepting_unit_id, d.seq FROM sheets s JOIN documents d ON d.id = s.id
UNION SELECT s.id, 0, s.handling_unit_id, d.seq FROM sheets s JOIN documents d ON d.id = s.id
    WHERE s.handling_unit_id IS NOT NULL
UNION SELECT f.sheet_id, f.assignee_staff_id, 0, d.seq FROM follow_ups f JOIN documents d ON d.id = f.sheet_id
    WHERE f.assignee_staff_id IS NOT NULL
UNION SELECT f.sheet_id, 0, f.assignee_unit_id, d.seq FROM follow_ups f JOIN documents d ON d.id = f.sheet_id;
