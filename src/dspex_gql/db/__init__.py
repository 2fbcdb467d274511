"""Persistence: declarative base and portable types, engine, unit of work, repositories."""
