-- Categories as a shop's own tree (upsertCategories, the catalogue importer): the order of a
-- category among its siblings, and the index that finds siblings by name (names are unique
-- among siblings, checked by the gateway under a per-dataset lock: src/catalog/category-tree.ts).
ALTER TABLE categories ADD COLUMN position int NOT NULL DEFAULT 0;
CREATE INDEX categories_dataset_name_idx ON categories (dataset, name);
