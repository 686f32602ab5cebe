"""The web app's configuration (``app.py``): its limits, read from the environment by :mod:`vst.settings` (where each
variable is documented), and where its files go under the cache folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..settings import AppSettings


@dataclass(frozen=True)
class AppConfig(AppSettings):
    """Settings of one app instance: :class:`vst.settings.AppSettings` (``AppConfig.from_env()`` reads them) and the
    folders below ``cache_dir``. Only the subfolders the browser needs are served."""

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def jobs_dir(self) -> Path:
        """Per-job output folders (``<cache_dir>/app-jobs/<random id>/``), served to the visitor who made them."""
        return self.cache_dir / "app-jobs"

    @property
    def blind_dir(self) -> Path:
        """Copies of A/B videos under random names (a file name must not say which variant it is)."""
        return self.cache_dir / "app-blind"

    @property
    def previews_dir(self) -> Path:
        """Style previews rendered by the app when a style folder has no ``preview.jpg``."""
        return self.cache_dir / "previews"

    @property
    def showcase_dir(self) -> Path:
        """Pre-rendered A/B pairs (:mod:`vst.app.showcase`)."""
        return self.cache_dir / "showcase"

    @property
    def served_dirs(self) -> list[Path]:
        """The folders Gradio may serve files from (``launch(allowed_paths=...)``)."""
        return [self.jobs_dir, self.blind_dir]
