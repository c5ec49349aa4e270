import collections, time, cProfile, pstats
import aiosqlite
from tests.conftest import Env

async def test_count(env: Env, monkeypatch) -> None:
    user = await env.bind("王建国")
    counts = collections.Counter()
    orig = aiosqlite.Connection._execute
    async def counting(self, fn, *a, **k):
        counts[getattr(fn, "__name__", str(fn))] += 1
        if a and isinstance(a[0], str):
            counts["sql:" + a[0].split()[0].upper() + " " + " ".join(a[0].split()[1:4])] += 1
            import traceback
            fr = [f for f in traceback.extract_stack() if "/bot/" in f.filename and "storage/db.py" not in f.filename]
            counts["at:" + " < ".join(f"{f.filename.split('/bot/')[1]}:{f.name}" for f in fr[-3:][::-1])] += 1
        return await orig(self, fn, *a, **k)
    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    steps = [("c","report"),("p","报本周"),("p","今天"),("p","宗教活动场所"),("p","选好了 / 完成"),("s","7"),("p","一切正常"),("p","提交")]
    prof = cProfile.Profile()
    t0 = time.process_time()
    prof.enable()
    for k, a in steps:
        if k == "c": await user.command(a)
        elif k == "p": await user.press(a)
        else: await user.send(a)
    await env.deliver()
    prof.disable()
    print("cpu", (time.process_time()-t0)*1000/len(steps), "ms/update")
    print(user.texts()[-1][:40])
    for k, v in sorted(counts.items(), key=lambda x: -x[1]): print(f"{v/len(steps):6.2f} {k}")
    
