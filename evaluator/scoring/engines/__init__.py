"""One module per execution engine behind `evaluator.scoring.engine.Engine`.

`duckdb` is the embedded default (always installed); `spark` needs the optional extra
`pip install -e '.[spark]'` and Java 17 (docs/scale-out.md).
"""
