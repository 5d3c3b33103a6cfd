"""HTTP conventions shared by every function: problem+json, request ids, paging."""
