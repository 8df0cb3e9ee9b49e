"""Run a pipeline in a subprocess so a test can SIGKILL it mid-stage."""
import sys

sys.path.insert(0, sys.argv[4])
import tests.support.slow_ops  # noqa: F401,E402
from dataforge import Pipeline, op  # noqa: E402

src, out, sleep = sys.argv[1], sys.argv[2], float(sys.argv[3])
slow = sys.argv[5] if len(sys.argv) > 5 else "test_slow_upper"  # or test_slow_upper_parallel
Pipeline([op("normalize"), op(slow, sleep=sleep), op("test_drop_odd_len")], batch_size=100,
         seed=1).run(src, out)
print("finished")
