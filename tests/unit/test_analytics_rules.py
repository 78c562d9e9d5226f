"""Association rules and the Count-Min sketch's sizing, from known numbers."""

import math

from analytics.recommendations import rules_for
from analytics.sketch import SketchShape


def test_rules_rank_by_confidence_and_drop_weak_pairs():
    # 10 orders; 4 with product a; a+b in 3, a+c in 1, a+d in 2.
    rules = rules_for(4, 10, [(2, 3), (4, 2), (3, 1)], {2: 5, 3: 1, 4: 2}, min_support=0.15, min_confidence=0.3,
                      limit=5)
    assert [(r.product_id, r.support, r.confidence) for r in rules] == [(2, 0.3, 0.75), (4, 0.2, 0.5)]
    assert rules[0].lift == 1.5 and rules[1].lift == 2.5
    assert rules_for(0, 10, [(2, 3)], {2: 5}, min_support=0, min_confidence=0, limit=5) == []


def test_sketch_shape_follows_the_error_bound_formulas():
    shape = SketchShape(epsilon=0.002, delta=0.01)
    assert shape.width == math.ceil(math.e / 0.002) == 1360
    assert shape.depth == 5
    assert shape.error_bound(10_000) == 20
    cells = shape.cells("searches", "red shoes")
    assert len(cells) == 5 and all(row * 1360 <= cell < (row + 1) * 1360 for row, cell in enumerate(cells))
    assert cells == shape.cells("searches", "red shoes") != shape.cells("products", "red shoes")
