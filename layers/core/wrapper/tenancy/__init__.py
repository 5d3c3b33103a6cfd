"""Tenancy: roles and permissions inside a tenant, and tenant-scoped AWS credentials."""
