"""An SDK sink: writes every batch of its input as a Parquet file under
`config.output_dir` (relative to the spec's folder). Each file is committed together
with its input position, so after a crash it asks for exactly what it has not written."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from flowctl import CommittedFiles, Component, ComponentSettings, run_component
from flowctl.options import text


class ParquetFiles(Component):
    def __init__(self, settings: ComponentSettings | None = None) -> None:
        super().__init__(settings)
        self.folder = Path(self.settings.spec_dir) / text(self.config, "output_dir", "data/sdk")

    def work(self) -> None:
        output = CommittedFiles(self.folder)
        for batch in self.read_input(after=output.position):
            write = partial(pq.write_table, pa.Table.from_batches([batch]))
            output.commit(self.input_position, write, suffix=".parquet")


if __name__ == "__main__":
    raise SystemExit(run_component(ParquetFiles))
