-- A blob's size, so an upload's status and a range request do not load its bytes.
ALTER TABLE blobs ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE blobs SET size = octet_length(bytes);

-- Uploads cut off midway: what has arrived so far, appended part by part where the last ended.
CREATE TABLE blob_uploads (
    sha256       TEXT PRIMARY KEY,
    total        BIGINT NOT NULL,
    received     BIGINT NOT NULL,
    bytes        BYTEA NOT NULL,
    uploaded_by  BIGINT NOT NULL,
    updated_at   TEXT NOT NULL
);
