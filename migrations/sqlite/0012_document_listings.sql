-- Each document's list row (huifang_protocol::DocumentListing, CBOR), written with its bytes and sent
-- beside them, so a phone receiving a document it does not hold stores both without reading the
-- bytes. NULL for documents stored before rows were kept: a phone then reads the bytes itself.
ALTER TABLE documents ADD COLUMN listing BLOB;
