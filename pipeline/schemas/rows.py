"""The tidy monthly rows: one per (submission, industry, level), counts already turned into numbers.

Text was converted to numbers by `pipeline.check.validate` (with cell-level findings); what is left to
check is declared here and run lazily over all submissions at once.
"""
import pandera.pandas as pa
from pandera.typing import Series

from pipeline.core.model import INDUSTRIES, LEVELS


class MonthlyRows(pa.DataFrameModel):
    submission: Series[int]
    industry: Series[str] = pa.Field(isin=INDUSTRIES)
    level: Series[int] = pa.Field(isin=LEVELS)
    new: Series[float] = pa.Field(ge=0, nullable=True)
    cumulative: Series[float] = pa.Field(ge=0, nullable=True)
    reviewing: Series[float] = pa.Field(ge=0, nullable=True)

    @pa.dataframe_check(name="cumulative_covers_month")
    def cumulative_covers_month(cls, df):
        return ~(df["cumulative"] < df["new"])

    class Config:
        strict = False
