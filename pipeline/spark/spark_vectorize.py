"""The Spark parse job: agent results -> `embedding_input`, the scale-out twin of the Bun parse worker.

A Structured Streaming query (`parse`, app `kafka_vectorizer`) reads SPARK_KAFKA_TOPICS and
applies the rules of agent_rules.py (the same as pipeline/contracts/extract.ts) to each record.
Each micro-batch (foreachBatch) then writes:
  - `{text, topic, kafka_ts, doc_id[, truncated]}` keyed by doc_id to SINK_INPUT_TOPIC;
  - the DLQ envelope of pipeline/contracts/dlq.ts (reason, error, source coordinates and the
    original bytes) to EMBED_DLQ_TOPIC and to the Redis stream {REDDB_NAMESPACE}:{REDDB_DLQ_STREAM};
  - optionally the parsed rows as Parquet under VEC_OUTPUT_DIR.
Spark records the batch in the checkpoint (VEC_CHECKPOINT) only after foreachBatch returns, so a
crash replays the batch (with the same offsets): nothing is lost. The Parquet files are named by
batch id and a replay replaces them, so the Parquet folder holds each row exactly once. The Kafka
writes (Spark's Kafka sink, no transactional producer) and the Redis DLQ stream are at least
once: a replayed batch is produced again, also with PIPELINE_EXACTLY_ONCE=1. A failed query
(broker down longer than the producer's delivery timeout, Redis down) is restarted from the
checkpoint with backoff, never skipped.

The process serves GET /health (200 while the query is active) and GET /metrics (counters
shaped like the Bun workers') on PARSE_METRICS_HOST:PARSE_METRICS_PORT, and the Spark UI and
REST API on 127.0.0.1:SPARK_UI_PORT. It is started by `npm run up -- --spark`
(scripts/lib/spark-local.ts), which passes every setting below from pipeline/config.ts.
"""

import base64
import hashlib
import json
import os
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_rules  # noqa: E402

SETTINGS = (
    ("KAFKA_BOOTSTRAP_SERVERS", "brokers, comma list"),
    ("SPARK_KAFKA_TOPICS", "source topics, comma list"),
    ("SINK_INPUT_TOPIC", "output topic"),
    ("EMBED_DLQ_TOPIC", "Kafka DLQ topic (empty = off)"),
    ("DLQ_MAX_ENTRY_BYTES", "largest DLQ entry (JSON bytes); a larger original value is cut and marked"),
    ("REDDB_URL", "redis:// URL of the DLQ stream (empty = off)"),
    ("REDDB_NAMESPACE", "Redis key prefix"),
    ("REDDB_DLQ_STREAM", "Redis DLQ stream name"),
    ("REDDB_STREAM_MAXLEN", "streams are capped at about this many entries"),
    ("PARSE_TEXT_FIELDS", "JSON fields tried for the text, comma list, dotted paths allowed"),
    ("PARSE_LABEL_FIELDS", "outcome fields copied into labels, comma list, dotted paths allowed"),
    ("PARSE_MAX_TEXT_CHARS", "longer texts are truncated and marked"),
    ("VEC_OUTPUT_DIR", "Parquet of parsed rows (empty = off)"),
    ("VEC_CHECKPOINT", "checkpoint folder"),
    ("SPARK_MASTER", "e.g. local[2]"),
    ("SPARK_DRIVER_MEMORY", "e.g. 1g"),
    ("SPARK_EXECUTOR_MEMORY", "memory of each executor on a standalone cluster, e.g. 512m"),
    ("SPARK_UI_PORT", "Spark UI / REST API port on 127.0.0.1"),
    ("SPARK_JARS", "the Kafka connector jars, comma list"),
    ("SPARK_TRIGGER_SEC", "micro-batch interval, seconds (0 = back to back)"),
    ("SPARK_STARTING_OFFSETS", "earliest, latest or per-partition JSON (used without a checkpoint)"),
    ("SPARK_MAX_OFFSETS_PER_TRIGGER", "records per micro-batch at most (0 = no limit)"),
    ("PARSE_METRICS_HOST", "/health and /metrics address"),
    ("PARSE_METRICS_PORT", "/health and /metrics port"),
)


def log(msg):
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} spark-vectorizer {msg}\n")
    sys.stderr.flush()


def read_settings(env):
    missing = [name for name, _ in SETTINGS if name not in env]
    if missing:
        raise SystemExit(
            "spark_vectorize.py: missing " + ", ".join(missing) + ". It is started by "
            "`npm run up -- --spark`, which passes every setting; run it with --help for the list."
        )
    s = {name: env[name] for name, _ in SETTINGS}
    if not s["EMBED_DLQ_TOPIC"] and not s["REDDB_URL"].startswith("redis"):
        raise SystemExit(
            "spark_vectorize.py: no DLQ target: set EMBED_DLQ_TOPIC or a redis:// REDDB_URL, "
            "or records that fail would have nowhere to go"
        )
    return {
        "brokers": s["KAFKA_BOOTSTRAP_SERVERS"],
        "topics": [t.strip() for t in s["SPARK_KAFKA_TOPICS"].split(",") if t.strip()],
        "sink_topic": s["SINK_INPUT_TOPIC"],
        "dlq_topic": s["EMBED_DLQ_TOPIC"],
        "redis_url": s["REDDB_URL"] if s["REDDB_URL"].startswith("redis") else "",
        "dlq_stream": f"{s['REDDB_NAMESPACE']}:{s['REDDB_DLQ_STREAM']}",
        "stream_maxlen": int(s["REDDB_STREAM_MAXLEN"]),
        "fields": tuple(f.strip() for f in s["PARSE_TEXT_FIELDS"].split(",") if f.strip()),
        "label_fields": tuple(f.strip() for f in s["PARSE_LABEL_FIELDS"].split(",") if f.strip()),
        "max_chars": int(s["PARSE_MAX_TEXT_CHARS"]),
        "dlq_max_entry_bytes": int(s["DLQ_MAX_ENTRY_BYTES"]),
        "parquet_dir": s["VEC_OUTPUT_DIR"],
        "checkpoint": s["VEC_CHECKPOINT"],
        "master": s["SPARK_MASTER"],
        "driver_memory": s["SPARK_DRIVER_MEMORY"],
        "executor_memory": s["SPARK_EXECUTOR_MEMORY"],
        "ui_port": s["SPARK_UI_PORT"],
        "jars": s["SPARK_JARS"],
        "trigger_sec": float(s["SPARK_TRIGGER_SEC"]),
        "starting_offsets": s["SPARK_STARTING_OFFSETS"] or "earliest",
        "max_offsets": int(s["SPARK_MAX_OFFSETS_PER_TRIGGER"]),
        "metrics": (s["PARSE_METRICS_HOST"], int(s["PARSE_METRICS_PORT"])),
    }


def _dumps(obj):
    # JSON.stringify's spelling: no spaces, non-ASCII kept as is, and numbers as JavaScript
    # writes them (a non-integral float through a placeholder, json.dumps spells them otherwise).
    floats = []
    nonce = uuid.uuid4().hex

    def mark(v):
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        if isinstance(v, float) and not v.is_integer():
            floats.append(agent_rules.js_number(v))
            return f"@{nonce}:{len(floats) - 1}@"
        return v

    text = json.dumps(mark(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for i, n in enumerate(floats):
        text = text.replace(f'"@{nonce}:{i}@"', n, 1)
    return text


def _strict_text(b):
    # TextDecoder("utf-8", {fatal: true, ignoreBOM: true}): keeps a leading BOM, rejects invalid bytes.
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


DLQ_KEY_MAX_CHARS = 1024
_TS_RESERVE = 32


def _json_bytes(obj):
    return len(_dumps(obj).encode("utf-8"))


def bound_dlq_entry(entry, original, max_bytes):
    """boundDlqEntry of pipeline/contracts/dlq.ts: the entry, or a copy that fits max_bytes."""
    if _json_bytes(dict(entry, ts=0)) + _TS_RESERVE <= max_bytes:
        return entry
    original = original or b""
    cut = dict(
        entry,
        value_b64="",
        value=None,
        value_truncated=True,
        value_bytes=len(original),
        value_sha256=hashlib.sha256(original).hexdigest(),
    )
    room = max_bytes - _json_bytes(dict(cut, ts=0)) - _TS_RESERVE
    if room < 0 and cut["text"] is not None:
        without = _json_bytes(dict(cut, ts=0, text="")) + _TS_RESERVE
        cut["text"] = agent_rules.truncate(cut["text"], max(0, (max_bytes - without) // 6))[0]
        room = max_bytes - _json_bytes(dict(cut, ts=0)) - _TS_RESERVE
    cut["value_b64"] = base64.b64encode(original[: max(0, room // 4 * 3)]).decode("ascii")
    return cut


def _source_key(key):
    if key is None:
        return {"key": None}
    text, truncated = agent_rules.truncate(bytes(key).decode("utf-8", errors="replace"), DLQ_KEY_MAX_CHARS)
    return {"key": text, "key_truncated": True} if truncated else {"key": text}


def record_outcome(value, key, topic, partition, offset, kafka_ts, fields, max_chars, max_entry_bytes, label_fields):
    """One record -> (ok, Kafka key, reason, truncated, text, payload JSON, doc_id, labels JSON, success)
    as the Bun parse worker writes it.

    The key is the doc_id, or for a DLQ entry without one the source key as UTF-8 text
    (pipeline/core/dlq.ts).
    """
    r = agent_rules.parse_agent_result(value, key, fields, max_chars, label_fields)
    if r["ok"]:
        out = {"text": r["text"], "topic": topic, "kafka_ts": kafka_ts, "doc_id": r["doc_id"]}
        if r["truncated"]:
            out["truncated"] = True
        if "labels" in r:
            out["labels"] = r["labels"]
        if "success" in r:
            out["success"] = r["success"]
        labels = _dumps(r.get("labels", {}))
        return (True, r["doc_id"], None, r["truncated"], r["text"], _dumps(out), r["doc_id"], labels, r.get("success"))
    value = None if value is None else bytes(value)
    source_key = _source_key(key)
    text = None if value is None else _strict_text(value)
    envelope = {
        "stage": "parse",
        "reason": r["reason"],
        "error": r["error"],
        "topic": topic,
        "text": None,
        "doc_id": r["doc_id"],
        "kafka_ts": kafka_ts,
        "ts": time.time(),
        "model": None,
        "source": {
            "topic": topic,
            "partition": partition,
            "offset": str(offset),
            **source_key,
            "timestamp": kafka_ts,
        },
        "value_b64": None if value is None or text is not None else base64.b64encode(value).decode("ascii"),
        "value": text,
    }
    envelope = bound_dlq_entry(envelope, value, max_entry_bytes)
    dlq_key = r["doc_id"] if r["doc_id"] is not None else source_key["key"]
    return (False, dlq_key, r["reason"], False, None, _dumps(envelope), r["doc_id"], None, None)


class Counters:
    """The /metrics document: cumulative counters since start, like the Bun workers'."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started = time.time()
        self.c = {
            "batches": 0,
            "records_in": 0,
            "records_out": 0,
            "dlq_records": 0,
            "truncated": 0,
            "retries": 0,
            "restarts": 0,
            "last_batch_ms": None,
            "last_flush_ts": None,
            "last_error": None,
            "outage_since": None,
            "dlq_by_reason": {},
        }
        self.query = None
        self.cause = None

    def batch(self, total, ok, truncated, reasons, ms):
        with self.lock:
            c = self.c
            c["batches"] += 1
            c["records_in"] += total
            c["records_out"] += ok
            c["truncated"] += truncated
            for reason, n in reasons.items():
                c["dlq_records"] += n
                c["dlq_by_reason"][reason] = c["dlq_by_reason"].get(reason, 0) + n
            c["last_batch_ms"] = round(ms, 1)
            c["last_flush_ts"] = time.time()

    def sink_failed(self, message):
        """A sink call failed and will be retried: the job is paused until it succeeds."""
        with self.lock:
            self.c["retries"] += 1
            self.c["last_error"] = message[:500]
            if self.c["outage_since"] is None:
                self.c["outage_since"] = time.time()

    def sink_ok(self):
        with self.lock:
            self.c["outage_since"] = None

    def batch_failed(self, message):
        with self.lock:
            self.cause = message[:500]

    def failed(self, err):
        """The query stopped with `err`; returns what is recorded (the batch's own cause when known)."""
        with self.lock:
            message = (self.cause or err)[:500]
            self.cause = None
            self.c["restarts"] += 1
            self.c["last_error"] = message
            return message

    def active(self):
        q = self.query
        try:
            return q is not None and q.isActive
        except Exception:
            return False

    def snapshot(self):
        with self.lock:
            doc = {"engine": "spark", "started_ts": self.started, **json.loads(json.dumps(self.c))}
        q = self.query
        doc["paused"] = doc["outage_since"] is not None or not self.active()
        doc["in_flight"] = 0
        doc["lag"] = None
        progress = None
        try:
            last = q.lastProgress if q is not None else None
            # A StreamingQueryProgress; its `json` has the offsets as JSON (its items do not).
            progress = json.loads(last.json) if last is not None and hasattr(last, "json") else last
        except Exception:
            pass
        if progress:
            doc["lag"] = lag_of(progress)
            doc["spark"] = {
                "query": progress.get("name"),
                "batch_id": progress.get("batchId"),
                "input_rows": progress.get("numInputRows"),
                "input_rows_per_sec": progress.get("inputRowsPerSecond"),
                "processed_rows_per_sec": progress.get("processedRowsPerSecond"),
                "trigger_ms": (progress.get("durationMs") or {}).get("triggerExecution"),
            }
        doc["ts"] = time.time()
        return doc


def _offsets(v):
    """A progress offset, Spark's {topic: {partition: offset}}."""
    return v if isinstance(v, dict) else {}


def lag_of(progress):
    """Records behind the newest, summed over partitions, when the last batch was planned."""
    total, known = 0, False
    for src in progress.get("sources", []):
        end, latest = _offsets(src.get("endOffset")), _offsets(src.get("latestOffset"))
        for topic, parts in latest.items():
            for part, newest in (parts or {}).items():
                done = (end.get(topic) or {}).get(part)
                if isinstance(newest, int) and isinstance(done, int):
                    total += max(0, newest - done)
                    known = True
    return total if known else None


def serve_metrics(counters, host, port):
    class Handler(BaseHTTPRequestHandler):
        def _send(self, code, doc):
            body = _dumps(doc).encode("utf-8")
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a health probe's timeout)

        def do_GET(self):
            path = self.path.split("?")[0]
            if path == "/health":
                ok = counters.active()
                self._send(200 if ok else 503, {"status": "ok" if ok else "query not active", "engine": "spark"})
            elif path == "/metrics":
                self._send(200, counters.snapshot())
            else:
                self._send(404, {"error": f"no route {path}"})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def build_session(cfg):
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("kafka_vectorizer")
        .master(cfg["master"])
        .config("spark.driver.memory", cfg["driver_memory"])
        .config("spark.executor.memory", cfg["executor_memory"])
        .config("spark.jars", cfg["jars"])
        .config("spark.ui.port", cfg["ui_port"])
        .config("spark.port.maxRetries", "0")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.streaming.metricsEnabled", "true")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.showConsoleProgress", "false")
        # kafka_ts in milliseconds, as the parse worker's Parquet has it (parsed_ts too, then).
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MILLIS")
        # A streaming driver makes a job per micro-batch: keep the UI's lists (and the REST
        # answers the backend polls) short.
        .config("spark.ui.retainedJobs", "200")
        .config("spark.ui.retainedStages", "200")
        .config("spark.sql.ui.retainedExecutions", "50")
        .config("spark.streaming.ui.retainedBatches", "100")
        .config("spark.sql.session.timeZone", "UTC")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.sparkContext.addPyFile(agent_rules.__file__)
    return spark


def parsed_stream(spark, cfg):
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = T.StructType(
        [
            T.StructField("ok", T.BooleanType(), False),
            T.StructField("key", T.StringType(), True),
            T.StructField("reason", T.StringType(), True),
            T.StructField("truncated", T.BooleanType(), False),
            T.StructField("text", T.StringType(), True),
            T.StructField("payload", T.StringType(), False),
            T.StructField("doc_id", T.StringType(), True),
            T.StructField("labels", T.StringType(), True),
            T.StructField("success", T.BooleanType(), True),
        ]
    )
    fields, max_chars, max_entry_bytes = cfg["fields"], cfg["max_chars"], cfg["dlq_max_entry_bytes"]
    label_fields = cfg["label_fields"]

    @F.udf(schema)
    def outcome(value, key, topic, partition, offset, kafka_ts):
        return record_outcome(
            value, key, topic, partition, offset, kafka_ts, fields, max_chars, max_entry_bytes, label_fields
        )

    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", cfg["brokers"])
        .option("subscribe", ",".join(cfg["topics"]))
        .option("startingOffsets", cfg["starting_offsets"])
        .option("failOnDataLoss", "false")
    )
    if cfg["max_offsets"] > 0:
        reader = reader.option("maxOffsetsPerTrigger", str(cfg["max_offsets"]))
    src = reader.load().withColumn("kafka_ts", F.unix_millis("timestamp"))
    return src.select(
        "topic",
        "partition",
        "offset",
        "key",
        "timestamp",
        outcome("value", "key", "topic", "partition", "offset", "kafka_ts").alias("r"),
    )


def first_line(err):
    """An exception's message without the JVM stack trace Py4J appends."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def write_batch_parquet(rows, folder, batch_id):
    """Writes a micro-batch's rows as `parsed-spark-b<batch_id>-<n>.parquet`, replacing what a
    replay of the same batch wrote before: Spark replays a batch with the same offsets after a
    crash (its checkpoint), so the folder holds each row exactly once. The files are written to
    a hidden folder first (readers skip dot names) and then renamed into place."""
    staging = os.path.join(folder, f".spark-batch-{batch_id}")
    rows.write.mode("overwrite").option("compression", "snappy").parquet(staging)
    parts = sorted(n for n in os.listdir(staging) if n.endswith(".parquet"))
    base = f"parsed-spark-b{batch_id:09d}"
    for i, name in enumerate(parts):
        os.replace(os.path.join(staging, name), os.path.join(folder, f"{base}-{i}.parquet"))
    # A replay that wrote fewer files than before leaves no stale part behind.
    for stale in os.listdir(folder):
        if stale.startswith(base + "-") and stale.endswith(".parquet"):
            if int(stale[len(base) + 1 : -len(".parquet")]) >= len(parts):
                os.remove(os.path.join(folder, stale))
    for leftover in os.listdir(staging):
        os.remove(os.path.join(staging, leftover))
    os.rmdir(staging)


def batch_writer(cfg, counters, stopping, redis_client):
    """The foreachBatch function: tally, then every sink, each retried until it succeeds."""
    from pyspark.sql import functions as F

    kafka = {
        "kafka.bootstrap.servers": cfg["brokers"],
        # The producer's own request limit (1 MiB by default) must take the largest DLQ entry.
        "kafka.max.request.size": str(max(1048576, cfg["dlq_max_entry_bytes"] + 65536)),
    }

    def retrying(what, fn):
        # Like the Bun runner: a sink that fails is retried with backoff (the job reports
        # paused meanwhile); the sinks that succeeded are not written again.
        delay = 1.0
        while True:
            try:
                result = fn()
                counters.sink_ok()
                return result
            except Exception as err:
                if stopping.is_set():
                    raise
                message = f"{what}: {type(err).__name__}: {first_line(err)}"
                counters.sink_failed(message)
                log(f"{message}; retrying in {delay:.0f}s")
                stopping.wait(delay)
                if stopping.is_set():
                    raise
                delay = min(delay * 2, 30.0)

    def to_kafka(frame, topic):
        return lambda: frame.write.format("kafka").options(**kafka).option("topic", topic).save()

    def to_redis(rows):
        written = [0]  # resumes where a failed attempt stopped

        def append():
            while written[0] < len(rows):
                chunk = rows[written[0] : written[0] + 500]
                pipe = redis_client.pipeline(transaction=False)
                for reason, doc_id, payload in chunk:
                    pipe.xadd(
                        cfg["dlq_stream"],
                        {"stage": "parse", "reason": reason, "doc_id": doc_id or "", "value": payload},
                        maxlen=cfg["stream_maxlen"],
                        approximate=True,
                    )
                pipe.execute()
                written[0] += len(chunk)

        return append

    def write(df, batch_id):
        started = time.time()
        df.persist()
        try:
            tally = df.groupBy("r.reason").agg(
                F.count(F.lit(1)).alias("n"), F.sum(F.col("r.truncated").cast("int")).alias("t")
            )
            reasons, ok, truncated = {}, 0, 0
            for row in tally.collect():
                if row["reason"] is None:
                    ok, truncated = row["n"], row["t"] or 0
                else:
                    reasons[row["reason"]] = row["n"]
            total = ok + sum(reasons.values())
            if total == 0:
                return
            good = df.where(F.col("r.ok"))
            bad = df.where(~F.col("r.ok"))
            if ok:
                out = good.select(F.col("r.key").alias("key"), F.col("r.payload").alias("value"))
                retrying("Kafka output", to_kafka(out, cfg["sink_topic"]))
            if reasons and cfg["dlq_topic"]:
                header = lambda name, col: F.struct(F.lit(name).alias("key"), col.cast("binary").alias("value"))  # noqa: E731
                dead = bad.select(
                    F.col("r.key").alias("key"),
                    F.col("r.payload").alias("value"),
                    F.array(header("stage", F.lit("parse")), header("reason", F.col("r.reason"))).alias("headers"),
                )
                retrying("Kafka DLQ", to_kafka(dead, cfg["dlq_topic"]))
            if reasons and redis_client is not None:
                rows = [
                    (r["reason"], r["doc_id"], r["payload"])
                    for r in bad.select("r.reason", "r.doc_id", "r.payload").collect()
                ]
                retrying("Redis DLQ stream", to_redis(rows))
            if ok and cfg["parquet_dir"]:
                rows = good.select(
                    F.col("r.key").alias("doc_id"),
                    "topic",
                    F.col("r.text").alias("text"),
                    F.col("timestamp").alias("kafka_ts"),
                    F.col("r.truncated").alias("truncated"),
                    F.current_timestamp().alias("parsed_ts"),
                    F.col("r.success").alias("success"),
                    F.col("r.labels").alias("labels"),
                    F.col("topic").alias("source_topic"),
                    F.col("partition").alias("source_partition"),
                    F.col("offset").alias("source_offset"),
                ).coalesce(1)
                retrying("Parquet", lambda: write_batch_parquet(rows, cfg["parquet_dir"], batch_id))
            counters.batch(total, ok, truncated, reasons, (time.time() - started) * 1000)
        except Exception as err:
            # Spark reports it as a Py4J traceback; keep the cause for /metrics and the log.
            counters.batch_failed(f"batch {batch_id}: {type(err).__name__}: {first_line(err)}")
            raise
        finally:
            df.unpersist()

    return write


def run(cfg, counters, stopping):
    spark = build_session(cfg)
    # After the session: PySpark installs its own SIGINT handler when the context starts.
    def on_signal(signum, _frame):
        log(f"signal {signum}: stopping the query")
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log(f"Spark {spark.version} up, UI {spark.sparkContext.uiWebUrl}")
    redis_client = None
    if cfg["redis_url"]:
        import redis

        redis_client = redis.Redis.from_url(cfg["redis_url"], socket_timeout=10, socket_connect_timeout=5)
    write = batch_writer(cfg, counters, stopping, redis_client)
    backoff = 1.0
    while not stopping.is_set():
        stream = parsed_stream(spark, cfg)
        writer = stream.writeStream.queryName("parse").option("checkpointLocation", cfg["checkpoint"])
        if cfg["trigger_sec"] > 0:
            writer = writer.trigger(processingTime=f"{cfg['trigger_sec']} seconds")
        query = writer.foreachBatch(write).start()
        counters.query = query
        log(f"query parse started (id {query.id}) on {','.join(cfg['topics'])} -> {cfg['sink_topic']}")
        try:
            while not stopping.is_set() and query.awaitTermination(1) is not True:
                if query.lastProgress:
                    backoff = 1.0  # it ran a batch since the last failure
            if stopping.is_set():
                query.stop()
                break
        except Exception as err:  # StreamingQueryException: restart from the checkpoint
            message = counters.failed(first_line(err))
            if stopping.is_set():
                break
            log(f"query failed, restarting from the checkpoint in {backoff:.0f}s: {message}")
            stopping.wait(backoff)
            backoff = min(backoff * 2, 30.0)
    if redis_client is not None:
        redis_client.close()
    spark.stop()


def main(argv):
    if "--help" in argv or "-h" in argv:
        print(__doc__)
        print("Settings (environment, all required; `up --spark` passes them from pipeline/config.ts):")
        for name, what in SETTINGS:
            print(f"  {name:32} {what}")
        return 0
    cfg = read_settings(os.environ)
    if os.environ.get("PIPELINE_EXACTLY_ONCE", "").strip().lower() in ("1", "true", "yes", "on"):
        log(
            "PIPELINE_EXACTLY_ONCE=1: this job's Parquet is exactly once, its Kafka writes stay at least "
            "once (Spark's Kafka sink has no transactions); the embed worker reads them read_committed"
        )
    counters = Counters()
    server = serve_metrics(counters, *cfg["metrics"])
    stopping = threading.Event()
    try:
        run(cfg, counters, stopping)
    finally:
        server.shutdown()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
