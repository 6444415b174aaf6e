"""Database: piccolo engine selection, core tables and migrations."""
