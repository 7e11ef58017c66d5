"""Ingestion: files in, validated rows stored, refused rows kept in ``rejects`` with their reasons."""

from salesintel.ingest.load import LoadReport, load_file
from salesintel.ingest.read import SourceOptions

__all__ = ["LoadReport", "SourceOptions", "load_file"]
