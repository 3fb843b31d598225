"""The xAPI learning record store: validation, storage, queries, voiding, documents and attachments."""
