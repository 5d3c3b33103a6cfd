"""Identity: who is calling, and the tenant context the authorizer hands to the functions."""
