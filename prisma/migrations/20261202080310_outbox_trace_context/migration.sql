-- The trace context of each change (issue 12, tracing): the relay carries it
-- into Kafka message headers. NULL when tracing is off.
ALTER TABLE "outbox_event" ADD COLUMN "trace_context" JSONB;
