"""Revision files, named by date and slug."""
