"""Streamlit-only helpers shared by the pages (cached resources, components, charts)."""
