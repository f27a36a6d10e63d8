-- Wake outbox relays as soon as events commit (NOTIFY is delivered on
-- commit, and dropped with a rollback). One notification per statement, not
-- per row, so a busy order stream does not flood the channel; relays poll
-- as a fallback anyway.
CREATE FUNCTION outbox_event_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_event', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_event_notify
AFTER INSERT ON outbox_event
FOR EACH STATEMENT EXECUTE FUNCTION outbox_event_notify();
