-- The catalogue's generation (src/retrieval/exact.ts): a number that grows with every committed
-- transaction that wrote items or item_categories, so that a gateway holding the catalogue's
-- vectors in memory knows with one small read per batch whether they are still current. Bumped
-- by a deferred constraint trigger, i.e. at commit, once per transaction (a transaction-local
-- setting remembers it did): the row lock is the transaction's last one, so writers wait on each
-- other only for the moment of commit and cannot deadlock on it, and a reader sees the new
-- number only once the writes it stands for are visible.
CREATE TABLE catalogue_generation (
  only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  generation bigint NOT NULL
);
INSERT INTO catalogue_generation VALUES (true, 0);

CREATE FUNCTION bump_catalogue_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('foresight.catalogue_bumped', true) IS DISTINCT FROM 'on' THEN
    UPDATE catalogue_generation SET generation = generation + 1;
    PERFORM set_config('foresight.catalogue_bumped', 'on', true);
  END IF;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER items_catalogue_generation
  AFTER INSERT OR UPDATE OR DELETE ON items
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_catalogue_generation();
CREATE CONSTRAINT TRIGGER item_categories_catalogue_generation
  AFTER INSERT OR UPDATE OR DELETE ON item_categories
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_catalogue_generation();
-- TRUNCATE fires no row trigger; it locks the whole table anyway, so its bump need not wait
CREATE TRIGGER items_truncate_catalogue_generation
  AFTER TRUNCATE ON items FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_generation();
CREATE TRIGGER item_categories_truncate_catalogue_generation
  AFTER TRUNCATE ON item_categories FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_generation();
