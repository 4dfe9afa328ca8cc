"""Aliases shared across layers, so signatures say what an array holds."""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
CodeArray: TypeAlias = npt.NDArray[np.int32]
SmallIntArray: TypeAlias = npt.NDArray[np.int8]
StrArray: TypeAlias = npt.NDArray[np.str_]
TimeArray: TypeAlias = npt.NDArray[np.datetime64]
CustomerIds: TypeAlias = npt.NDArray[np.str_]
AnyArray: TypeAlias = npt.NDArray[Any]
JsonDict: TypeAlias = dict[str, Any]
