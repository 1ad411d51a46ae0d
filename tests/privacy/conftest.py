import pytest


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    """Each test writes its zips to its own directory."""
    settings.THINKALIKE_EXPORT_DIR = tmp_path / "exports"
    return settings.THINKALIKE_EXPORT_DIR
