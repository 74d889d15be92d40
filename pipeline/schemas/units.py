"""The reference list of reporting units, as staff edit it in `reference/units.csv`."""
import pandera.pandas as pa
from pandera.typing import Series

PERIOD = r"^([0-9]{4}-(0[1-9]|1[0-2]))?$"


class UnitsTable(pa.DataFrameModel):
    单位: Series[str] = pa.Field(unique=True, str_length={"min_value": 1})
    别名: Series[str]
    规模以上企业数: Series[int] = pa.Field(ge=0)
    起始: Series[str] = pa.Field(str_matches=PERIOD)
    截止: Series[str] = pa.Field(str_matches=PERIOD)

    class Config:
        coerce = True
        strict = False
