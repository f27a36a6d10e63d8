-- The NOTIFY trigger made every order's commit take PostgreSQL's cluster-wide
-- notification-queue lock through its WAL flush, serialising all order
-- commits (measured: 2-4x fewer orders/s). Relays are now woken after commit
-- instead: in-process by the API that wrote the events, and across processes
-- by a throttled NOTIFY sent outside any order transaction.
DROP TRIGGER outbox_event_notify ON outbox_event;
DROP FUNCTION outbox_event_notify();
