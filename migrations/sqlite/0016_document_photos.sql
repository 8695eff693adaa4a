-- The photos documents refer to (#18): a photo is read by whoever may read a sheet or follow-up
-- that refers to it. Photos are only ever added, so a row is never removed.
CREATE TABLE document_photos (
    blob_sha256  TEXT NOT NULL,
    document_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    -- jpeg, png or heic (a list shows a thumbnail, or offers the file)
    format       TEXT NOT NULL,
    PRIMARY KEY (blob_sha256, document_id)
);
