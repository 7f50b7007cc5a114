-- pg2es: deterministic sample-data generator for the `content` schema.
--
--   psql -v ON_ERROR_STOP=1 [-v films=100000] -d DB -f db/generate.sql
--
-- * films defaults to 1000; people = films; 30 genres.
-- * REPLACES the data: it TRUNCATEs the five content tables first (one
--   transaction: on error nothing changes). The schema must exist already
--   (db/schema.sql, or the real dataset's schema.ddl, with or without
--   db/indexes.sql); `psql -f db/schema.sql -f db/generate.sql` does both.
-- * Deterministic: no random(); every value derives from the row number through
--   hashint8extended() (integer hashing, independent of platform and settings)
--   and timestamps are a fixed base plus offsets, so the same `films` gives the
--   same rows (ids included) on every run, machine and TimeZone. Ids are
--   uuid-shaped: 16 hash hex digits, then 8<tag> and the row number in hex
--   (tags: 1 film_work, 2 person, 3 genre, 4 person_film_work, 5 genre_film_work).
-- * Needs PostgreSQL 13+ (like the schema) and psql 10+.
-- * Timing on a 2-core machine: 100k films ~9-11 s, 1M films ~80-95 s.
-- * Fast: set-based SQL only. The content tables' indexes and PK/unique/FK
--   constraints (whatever they are) are dropped for the load and recreated from
--   their saved definitions afterwards, then VACUUM ANALYZE.
--
-- Shape (per film, on average): ~1 director, ~1.3 writers, ~4 actors (2% of
-- films have no people at all), ~1.95 genres (every film has 1..3). People are
-- picked with a skew (person k ~ floor(people * x^1.5)): most people are in a
-- handful of films, the busiest ones in hundreds. Half the titles, descriptions
-- and names are Russian (Cyrillic), half English. ~20% NULL descriptions, ~2%
-- NULL ratings, ~15% tv_show, creation_date 1920..2024. updated_at: films come
-- in blocks of 1000 per second of the timeline; every third block shares one
-- single updated_at (1000-row ties), the others have distinct microsecond
-- timestamps. Link rows get created_at = their film's updated_at.

\if :{?films}
\else
\set films 1000
\endif

SELECT (:'films')::int AS films_n \gset
SELECT (:films_n > 0) AS films_ok \gset
\if :films_ok
\else
DO $$ BEGIN RAISE EXCEPTION 'films must be a positive integer'; END $$;
\quit
\endif

\set QUIET on
\timing off
SET client_min_messages = warning;
SET maintenance_work_mem = '256MB';
SET work_mem = '64MB';
SELECT clock_timestamp() AS gen_t0 \gset
\echo generating :films_n films into content.* (tables are truncated first)

BEGIN;

------------------------------------------------------------------------------
-- Helpers (temporary; immutable, so the planner inlines / constant-folds them)
------------------------------------------------------------------------------

-- Hash-uniform double in [0,1) for (seed, key).
CREATE FUNCTION pg_temp.u(seed bigint, k bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ((hashint8extended($2, $1) >> 11) & 9007199254740991)::float8 / 9007199254740992.0 $$;

-- Hash-uniform int in [0, m) for (seed, key).
CREATE FUNCTION pg_temp.r(seed bigint, k bigint, m int) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ((hashint8extended($2, $1) & 2147483647) % $3)::int $$;

-- Deterministic uuid for (tag, n): 64 hash bits of n (random order; seeds
-- 9000+ are not used for anything else, so id order does not correlate with
-- any attribute), version 4 nibble, then variant 8, the tag (0..15) and n
-- itself (so always unique).
-- Much faster than md5(...)::uuid.
CREATE FUNCTION pg_temp.id(tag int, n bigint) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (lpad(to_hex((hashint8extended(n, 9000 + tag) & -61441) | 16384), 16, '0')
           || to_hex(((128 + tag)::bigint << 56) | n))::uuid $$;

-- Upper-case the first letter (Latin or Cyrillic), locale independent.
CREATE FUNCTION pg_temp.cap1(s text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT translate(left(s, 1),
                    'abcdefghijklmnopqrstuvwxyzабвгдеёжзийклмнопрстуфхцчшщъыьэюя',
                    'ABCDEFGHIJKLMNOPQRSTUVWXYZАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ')
          || substr(s, 2) $$;
CREATE FUNCTION pg_temp.cap(a text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT array_agg(pg_temp.cap1(x) ORDER BY i) FROM unnest(a) WITH ORDINALITY AS t(x, i) $$;

-- Feminine form of a Russian surname: -ов/-ев/-ин/-ын + а, -ский -> -ская.
CREATE FUNCTION pg_temp.ru_fem(a text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT array_agg(CASE WHEN x ~ '(ов|ев|ин|ын)$' THEN x || 'а'
                         WHEN x ~ 'ий$' THEN regexp_replace(x, 'ий$', 'ая')
                         ELSE x END ORDER BY i)
   FROM unnest(a) WITH ORDINALITY AS t(x, i) $$;

-- Timeline: 1000 rows per second from `base`; every third block of 1000 rows
-- shares one timestamp, the others are 997 us apart.
-- (STABLE only because timestamptz + interval is; with a microseconds-only
-- interval the result does not depend on the TimeZone setting.)
CREATE FUNCTION pg_temp.ts(base timestamptz, n bigint) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT base + ((((n - 1) / 1000) * 1000000
                   + CASE WHEN ((n - 1) / 1000) % 3 = 0 THEN 0 ELSE ((n - 1) % 1000) * 997 END)
                  * interval '1 microsecond') $$;

------------------------------------------------------------------------------
-- Word lists (immutable zero-argument functions: folded to constants)
------------------------------------------------------------------------------

CREATE FUNCTION pg_temp.en_adj() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Silent','Dark','Last','Running','Lost','Forgotten','Red','White','Cold','Distant',
 'Secret','Golden','Old','New','Midnight','Eternal','Hot','Lonely','Wild','Iron',
 'Glass','Northern','Summer','Winter','Broken','Dangerous','Strange','Great','Invisible','Falling',
 'Burning','Hidden','Little','Crimson','Final','Sleeping','Frozen','Stolen','Endless','Bright'] $$;
CREATE FUNCTION pg_temp.en_noun() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'River','Forest','Sea','City','Night','Day','Star','Dog','Road','House',
 'Heart','Window','Island','Shadow','War','World','Song','Wind','Mirror','Train',
 'Bird','Wolf','King','Captain','Daughter','Brother','Garden','Sky','Fire','Summer',
 'Winter','Secret','Dream','Shore','Border','Field','Street','Letter','Story','Child'] $$;
CREATE FUNCTION pg_temp.en_nouns() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Rivers','Forests','Seas','Cities','Nights','Days','Stars','Dogs','Roads','Houses',
 'Hearts','Windows','Islands','Shadows','Wars','Worlds','Songs','Winds','Mirrors','Trains',
 'Birds','Wolves','Kings','Captains','Daughters','Brothers','Gardens','Skies','Fires','Summers',
 'Winters','Secrets','Dreams','Shores','Borders','Fields','Streets','Letters','Stories','Children'] $$;

-- Russian adjectives: masculine, feminine, neuter, plural (same index).
CREATE FUNCTION pg_temp.ru_adj_m() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'тихий','темный','последний','бегущий','потерянный','забытый','красный','белый','холодный','далекий',
 'тайный','золотой','старый','новый','ночной','вечный','горячий','одинокий','дикий','железный',
 'стеклянный','северный','летний','зимний','сломанный','опасный','чужой','большой','невидимый','падающий',
 'горящий','скрытый','маленький','алый','спящий','замерзший','украденный','бесконечный','светлый','последний'] $$;
CREATE FUNCTION pg_temp.ru_adj_f() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'тихая','темная','последняя','бегущая','потерянная','забытая','красная','белая','холодная','далекая',
 'тайная','золотая','старая','новая','ночная','вечная','горячая','одинокая','дикая','железная',
 'стеклянная','северная','летняя','зимняя','сломанная','опасная','чужая','большая','невидимая','падающая',
 'горящая','скрытая','маленькая','алая','спящая','замерзшая','украденная','бесконечная','светлая','последняя'] $$;
CREATE FUNCTION pg_temp.ru_adj_n() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'тихое','темное','последнее','бегущее','потерянное','забытое','красное','белое','холодное','далекое',
 'тайное','золотое','старое','новое','ночное','вечное','горячее','одинокое','дикое','железное',
 'стеклянное','северное','летнее','зимнее','сломанное','опасное','чужое','большое','невидимое','падающее',
 'горящее','скрытое','маленькое','алое','спящее','замерзшее','украденное','бесконечное','светлое','последнее'] $$;
CREATE FUNCTION pg_temp.ru_adj_pl() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'тихие','темные','последние','бегущие','потерянные','забытые','красные','белые','холодные','далекие',
 'тайные','золотые','старые','новые','ночные','вечные','горячие','одинокие','дикие','железные',
 'стеклянные','северные','летние','зимние','сломанные','опасные','чужие','большие','невидимые','падающие',
 'горящие','скрытые','маленькие','алые','спящие','замерзшие','украденные','бесконечные','светлые','последние'] $$;
-- Russian nouns: nominative, genitive, nominative plural, gender (same index).
CREATE FUNCTION pg_temp.ru_noun() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'река','лес','море','город','ночь','день','звезда','собака','дорога','дом',
 'сердце','окно','остров','тень','война','мир','песня','ветер','зеркало','поезд',
 'птица','волк','король','капитан','дочь','брат','сад','небо','огонь','лето',
 'зима','тайна','мечта','берег','граница','поле','улица','письмо','история','ребенок'] $$;
CREATE FUNCTION pg_temp.ru_noun_gen() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'реки','леса','моря','города','ночи','дня','звезды','собаки','дороги','дома',
 'сердца','окна','острова','тени','войны','мира','песни','ветра','зеркала','поезда',
 'птицы','волка','короля','капитана','дочери','брата','сада','неба','огня','лета',
 'зимы','тайны','мечты','берега','границы','поля','улицы','письма','истории','ребенка'] $$;
CREATE FUNCTION pg_temp.ru_noun_pl() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'реки','леса','моря','города','ночи','дни','звезды','собаки','дороги','дома',
 'сердца','окна','острова','тени','войны','миры','песни','ветры','зеркала','поезда',
 'птицы','волки','короли','капитаны','дочери','братья','сады','небеса','огни','лета',
 'зимы','тайны','мечты','берега','границы','поля','улицы','письма','истории','дети'] $$;
CREATE FUNCTION pg_temp.ru_noun_g() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'f','m','n','m','f','m','f','f','f','m',
 'n','n','m','f','f','m','f','m','n','m',
 'f','m','m','m','f','m','m','n','m','n',
 'f','f','f','m','f','n','f','n','f','m'] $$;

-- Description sentences: subject + verb + object + place + ending + '.'
CREATE FUNCTION pg_temp.en_subj() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'A young detective','An aging boxer','A lonely teacher','A former police officer','A talented musician',
 'A young painter','A brave captain','A stubborn journalist','An elderly librarian','A fearless pilot',
 'A small-town doctor','A retired spy','A curious student','A struggling writer','A single mother',
 'A wealthy banker','A runaway teenager','A famous chef'] $$;
CREATE FUNCTION pg_temp.en_verb() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'searches for','finds','protects','hides','follows','steals','loses','remembers',
 'guards','chases','discovers','destroys','sells','inherits','rescues'] $$;
CREATE FUNCTION pg_temp.en_obj() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'an ancient map','a stolen painting','the last letter','a missing brother','a secret diary',
 'an old clock','a golden key','a mysterious box','a forgotten song','a dangerous secret',
 'a wounded dog','a lost child','a priceless diamond','the family farm','a broken violin',
 'an abandoned house','a strange signal','a sleeping dragon'] $$;
CREATE FUNCTION pg_temp.en_place() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'in a snowy mountain town','on a remote island','in an empty village','in a huge city',
 'aboard an old ship','in post-war Berlin','on the edge of the desert','in a haunted castle',
 'during a long winter','in the Moscow underground','on a distant planet','in a small seaside town',
 'at a boarding school','in the Siberian taiga','on the night train'] $$;
CREATE FUNCTION pg_temp.en_end() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 ' to save the family',' before winter comes',' and uncovers a dangerous conspiracy',
 ' to win back a lost love',' and meets an old friend',' while a storm is approaching',
 ' and learns the truth about the past',' to pay off an old debt',' and starts a new life',
 ' despite the warnings of friends',' to stop a terrible war',' and falls in love',
 ' without telling anyone',' to keep a promise',' while the police are watching'] $$;
CREATE FUNCTION pg_temp.ru_subj() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Молодой детектив','Стареющий боксер','Одинокая учительница','Бывший полицейский','Талантливый музыкант',
 'Юная художница','Отважный капитан','Упрямый журналист','Пожилая библиотекарша','Бесстрашная летчица',
 'Сельский врач','Отставной шпион','Любопытный студент','Начинающий писатель','Мать-одиночка',
 'Богатый банкир','Сбежавший подросток','Знаменитый повар'] $$;
CREATE FUNCTION pg_temp.ru_verb() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'ищет','находит','защищает','прячет','преследует','крадет','теряет','вспоминает',
 'охраняет','разыскивает','обнаруживает','уничтожает','продает','наследует','спасает'] $$;
CREATE FUNCTION pg_temp.ru_obj() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'древнюю карту','украденную картину','последнее письмо','пропавшего брата','секретный дневник',
 'старинные часы','золотой ключ','таинственную шкатулку','забытую песню','опасную тайну',
 'раненую собаку','потерянного ребенка','бесценный бриллиант','семейную ферму','сломанную скрипку',
 'заброшенный дом','странный сигнал','спящего дракона'] $$;
CREATE FUNCTION pg_temp.ru_place() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'в заснеженном горном городке','на далеком острове','в опустевшей деревне','в огромном мегаполисе',
 'на борту старого корабля','в послевоенном Берлине','на краю пустыни','в заколдованном замке',
 'долгой зимой','в московском метро','на далекой планете','в маленьком приморском городке',
 'в школе-интернате','в сибирской тайге','в ночном поезде'] $$;
CREATE FUNCTION pg_temp.ru_end() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 ', чтобы спасти семью',', пока не наступила зима',' и раскрывает опасный заговор',
 ', чтобы вернуть утраченную любовь',' и встречает старого друга',', пока приближается буря',
 ' и узнает правду о прошлом',', чтобы вернуть старый долг',' и начинает новую жизнь',
 ' вопреки предупреждениям друзей',', чтобы остановить страшную войну',' и влюбляется',
 ', никому ничего не сказав',', чтобы сдержать обещание',' под наблюдением полиции'] $$;

-- One description sentence for key k (seeds s..s+4).
CREATE FUNCTION pg_temp.en_sentence(s bigint, k bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
 SELECT (pg_temp.en_subj())[1 + pg_temp.r(s, k, cardinality(pg_temp.en_subj()))] || ' ' ||
        (pg_temp.en_verb())[1 + pg_temp.r(s + 1, k, cardinality(pg_temp.en_verb()))] || ' ' ||
        (pg_temp.en_obj())[1 + pg_temp.r(s + 2, k, cardinality(pg_temp.en_obj()))] || ' ' ||
        (pg_temp.en_place())[1 + pg_temp.r(s + 3, k, cardinality(pg_temp.en_place()))] ||
        (pg_temp.en_end())[1 + pg_temp.r(s + 4, k, cardinality(pg_temp.en_end()))] || '.' $$;
CREATE FUNCTION pg_temp.ru_sentence(s bigint, k bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
 SELECT (pg_temp.ru_subj())[1 + pg_temp.r(s, k, cardinality(pg_temp.ru_subj()))] || ' ' ||
        (pg_temp.ru_verb())[1 + pg_temp.r(s + 1, k, cardinality(pg_temp.ru_verb()))] || ' ' ||
        (pg_temp.ru_obj())[1 + pg_temp.r(s + 2, k, cardinality(pg_temp.ru_obj()))] || ' ' ||
        (pg_temp.ru_place())[1 + pg_temp.r(s + 3, k, cardinality(pg_temp.ru_place()))] ||
        (pg_temp.ru_end())[1 + pg_temp.r(s + 4, k, cardinality(pg_temp.ru_end()))] || '.' $$;

-- People names.
CREATE FUNCTION pg_temp.en_first() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'James','Mary','John','Patricia','Robert','Jennifer','Michael','Linda','William','Elizabeth',
 'David','Barbara','Richard','Susan','Joseph','Jessica','Thomas','Sarah','Charles','Karen',
 'Daniel','Nancy','Matthew','Lisa','Anthony','Emily','Mark','Emma','Paul','Olivia',
 'Steven','Grace','Andrew','Alice','Kevin','Laura','Brian','Rachel','George','Helen'] $$;
CREATE FUNCTION pg_temp.en_last() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez','Martinez',
 'Hernandez','Lopez','Wilson','Anderson','Thomas','Taylor','Moore','Jackson','Martin','Lee',
 'Thompson','White','Harris','Clark','Lewis','Robinson','Walker','Young','Allen','King',
 'Wright','Scott','Hill','Green','Adams','Baker','Nelson','Carter','Mitchell','Roberts',
 'Turner','Phillips','Campbell','Parker','Evans','Edwards','Collins','Stewart','Morris','Murphy'] $$;
CREATE FUNCTION pg_temp.ru_first_m() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Александр','Алексей','Андрей','Антон','Борис','Владимир','Дмитрий','Евгений','Иван','Игорь',
 'Кирилл','Максим','Михаил','Николай','Олег','Павел','Петр','Роман','Сергей','Степан',
 'Тимур','Федор','Юрий','Ярослав','Григорий'] $$;
CREATE FUNCTION pg_temp.ru_first_f() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Анна','Анастасия','Валентина','Вера','Галина','Дарья','Евгения','Екатерина','Елена','Ирина',
 'Ксения','Людмила','Марина','Мария','Надежда','Наталья','Нина','Ольга','Полина','Светлана',
 'Софья','Татьяна','Ульяна','Юлия','Алиса'] $$;
CREATE FUNCTION pg_temp.ru_patr_m() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Александрович','Сергеевич','Петрович','Иванович','Николаевич',
 'Михайлович','Владимирович','Андреевич','Дмитриевич','Юрьевич'] $$;
CREATE FUNCTION pg_temp.ru_patr_f() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Александровна','Сергеевна','Петровна','Ивановна','Николаевна',
 'Михайловна','Владимировна','Андреевна','Дмитриевна','Юрьевна'] $$;
CREATE FUNCTION pg_temp.ru_last_m() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Иванов','Смирнов','Кузнецов','Попов','Васильев','Петров','Соколов','Михайлов','Новиков','Федоров',
 'Морозов','Волков','Алексеев','Лебедев','Семенов','Егоров','Павлов','Козлов','Степанов','Николаев',
 'Орлов','Андреев','Макаров','Никитин','Захаров','Зайцев','Соловьев','Борисов','Яковлев','Григорьев',
 'Романов','Воробьев','Сергеев','Фролов','Александров','Дмитриев','Королев','Гусев','Киселев','Ильин',
 'Вишневский','Островский','Белинский','Черных','Шевченко'] $$;

-- The 30 genre ids, as one constant array.
CREATE FUNCTION pg_temp.genre_ids() RETURNS uuid[] LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(pg_temp.id(3, g) ORDER BY g) FROM generate_series(1, 30) AS g $$;

-- Genres: name (English, as in the real dataset) and Russian description.
CREATE FUNCTION pg_temp.genre_name() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Drama','Comedy','Action','Thriller','Romance','Crime','Adventure','Documentary','Horror','Family',
 'Fantasy','Mystery','Sci-Fi','Animation','Biography','History','Music','War','Western','Sport',
 'Musical','Short','Film-Noir','Disaster','Martial Arts','Superhero','News','Reality-TV','Talk-Show','Game-Show'] $$;
CREATE FUNCTION pg_temp.genre_ru() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[
 'Драма','Комедия','Боевик','Триллер','Мелодрама','Криминал','Приключения','Документальный фильм','Ужасы','Семейный фильм',
 'Фэнтези','Детектив','Фантастика','Мультфильм','Биография','История','Музыка','Военный фильм','Вестерн','Спорт',
 'Мюзикл','Короткометражка','Фильм-нуар','Фильм-катастрофа','Боевые искусства','Супергерои','Новости','Реалити-шоу','Ток-шоу','Игровое шоу'] $$;

------------------------------------------------------------------------------
-- Empty the tables; drop their indexes and PK/unique/FK constraints for the load
------------------------------------------------------------------------------

TRUNCATE content.person_film_work, content.genre_film_work,
         content.film_work, content.person, content.genre;

CREATE TEMP TABLE gen_saved ON COMMIT DROP AS
    SELECT 1 AS ord,
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                  pg_get_constraintdef(c.oid)) AS create_sql,
           format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop_sql,
           c.conname::text AS name
    FROM pg_constraint c
    WHERE c.contype IN ('p', 'u', 'x')
      AND c.conrelid IN ('content.film_work'::regclass, 'content.person'::regclass,
                         'content.genre'::regclass, 'content.person_film_work'::regclass,
                         'content.genre_film_work'::regclass)
    UNION ALL
    SELECT 2, pg_get_indexdef(i.indexrelid),
           format('DROP INDEX %s', i.indexrelid::regclass), i.indexrelid::regclass::text
    FROM pg_index i
    WHERE i.indrelid IN ('content.film_work'::regclass, 'content.person'::regclass,
                         'content.genre'::regclass, 'content.person_film_work'::regclass,
                         'content.genre_film_work'::regclass)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                                                      AND c.conrelid = i.indrelid)
    UNION ALL
    SELECT 3,
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                  pg_get_constraintdef(c.oid)),
           format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
           c.conname::text
    FROM pg_constraint c
    WHERE c.contype = 'f'
      AND c.conrelid IN ('content.film_work'::regclass, 'content.person'::regclass,
                         'content.genre'::regclass, 'content.person_film_work'::regclass,
                         'content.genre_film_work'::regclass);

-- Foreign keys first, then plain indexes, then PK/unique constraints.
SELECT drop_sql FROM gen_saved ORDER BY ord DESC, name \gexec

\timing on

------------------------------------------------------------------------------
-- genre: 30 rows, all sharing one updated_at
------------------------------------------------------------------------------

\echo genre
INSERT INTO content.genre (id, name, description, created_at, updated_at)
SELECT (pg_temp.genre_ids())[g],
       (pg_temp.genre_name())[g],
       (pg_temp.genre_ru())[g],
       timestamptz '2023-12-31 00:00:00+00',
       timestamptz '2023-12-31 00:00:00+00'
FROM generate_series(1, 30) AS g;

------------------------------------------------------------------------------
-- person: as many as films
------------------------------------------------------------------------------

\echo person
INSERT INTO content.person (id, full_name, birth_date, created_at, updated_at)
SELECT pg_temp.id(2, n),
       CASE
         WHEN NOT ru THEN
           (pg_temp.en_first())[1 + pg_temp.r(103, n, cardinality(pg_temp.en_first()))]
           || CASE WHEN pg_temp.u(104, n) < 0.4
                   THEN ' ' || chr(65 + pg_temp.r(105, n, 26)) || '.' ELSE '' END
           || ' ' || (pg_temp.en_last())[1 + pg_temp.r(106, n, cardinality(pg_temp.en_last()))]
         WHEN female THEN
           (pg_temp.ru_first_f())[1 + pg_temp.r(103, n, cardinality(pg_temp.ru_first_f()))]
           || CASE WHEN pg_temp.u(104, n) < 0.3
                   THEN ' ' || (pg_temp.ru_patr_f())[1 + pg_temp.r(105, n, cardinality(pg_temp.ru_patr_f()))]
                   ELSE '' END
           || ' ' || (pg_temp.ru_fem(pg_temp.ru_last_m()))[1 + pg_temp.r(106, n, cardinality(pg_temp.ru_last_m()))]
         ELSE
           (pg_temp.ru_first_m())[1 + pg_temp.r(103, n, cardinality(pg_temp.ru_first_m()))]
           || CASE WHEN pg_temp.u(104, n) < 0.3
                   THEN ' ' || (pg_temp.ru_patr_m())[1 + pg_temp.r(105, n, cardinality(pg_temp.ru_patr_m()))]
                   ELSE '' END
           || ' ' || (pg_temp.ru_last_m())[1 + pg_temp.r(106, n, cardinality(pg_temp.ru_last_m()))]
       END,
       CASE WHEN pg_temp.u(107, n) < 0.1 THEN NULL
            ELSE date '1920-01-01' + pg_temp.r(108, n, 31000) END,
       ts, ts
FROM (SELECT n,
             pg_temp.u(101, n) < 0.5 AS ru,
             pg_temp.u(102, n) < 0.5 AS female,
             pg_temp.ts(timestamptz '2024-01-01 00:00:00+00', n) AS ts
      FROM generate_series(1, :films_n::bigint) AS n
      OFFSET 0) AS p;

------------------------------------------------------------------------------
-- film_work
------------------------------------------------------------------------------

\echo film_work
INSERT INTO content.film_work (id, title, description, creation_date, certificate, file_path,
                               rating, type, created_at, updated_at)
SELECT pg_temp.id(1, n),
       CASE WHEN NOT ru THEN
         CASE pat
           WHEN 0 THEN 'The ' || (pg_temp.en_adj())[1 + a] || ' ' || (pg_temp.en_noun())[1 + b]
           WHEN 1 THEN 'The ' || (pg_temp.en_noun())[1 + b] || ' of the ' || (pg_temp.en_noun())[1 + c]
           WHEN 2 THEN (pg_temp.en_adj())[1 + a] || ' ' || (pg_temp.en_nouns())[1 + b]
           WHEN 3 THEN (pg_temp.en_noun())[1 + b] || ' and ' || (pg_temp.en_noun())[1 + c]
           WHEN 4 THEN 'The ' || (pg_temp.en_noun())[1 + c] || '''s ' || (pg_temp.en_noun())[1 + b]
           ELSE 'The ' || (pg_temp.en_adj())[1 + a] || ' ' || (pg_temp.en_noun())[1 + b]
                || ' of the ' || (pg_temp.en_noun())[1 + c]
         END
       ELSE
         CASE pat
           WHEN 0 THEN (CASE (pg_temp.ru_noun_g())[1 + b]
                          WHEN 'm' THEN (pg_temp.cap(pg_temp.ru_adj_m()))[1 + a]
                          WHEN 'f' THEN (pg_temp.cap(pg_temp.ru_adj_f()))[1 + a]
                          ELSE (pg_temp.cap(pg_temp.ru_adj_n()))[1 + a] END)
                       || ' ' || (pg_temp.ru_noun())[1 + b]
           WHEN 1 THEN (pg_temp.cap(pg_temp.ru_noun()))[1 + b] || ' ' || (pg_temp.ru_noun_gen())[1 + c]
           WHEN 2 THEN (pg_temp.cap(pg_temp.ru_adj_pl()))[1 + a] || ' ' || (pg_temp.ru_noun_pl())[1 + b]
           WHEN 3 THEN (pg_temp.cap(pg_temp.ru_noun()))[1 + b] || ' и ' || (pg_temp.ru_noun())[1 + c]
           WHEN 4 THEN (CASE (pg_temp.ru_noun_g())[1 + b]
                          WHEN 'm' THEN (pg_temp.cap(pg_temp.ru_adj_m()))[1 + a]
                          WHEN 'f' THEN (pg_temp.cap(pg_temp.ru_adj_f()))[1 + a]
                          ELSE (pg_temp.cap(pg_temp.ru_adj_n()))[1 + a] END)
                       || ' ' || (pg_temp.ru_noun())[1 + b] || ' ' || (pg_temp.ru_noun_gen())[1 + c]
           ELSE (pg_temp.cap(pg_temp.ru_adj_pl()))[1 + a] || ' ' || (pg_temp.ru_noun_pl())[1 + b]
                || ' ' || (pg_temp.ru_noun_gen())[1 + c]
         END
       END
       || CASE WHEN pg_temp.u(6, n) < 0.04 THEN ' ' || (2 + pg_temp.r(7, n, 3)) ELSE '' END,
       CASE WHEN pg_temp.u(8, n) < 0.2 THEN NULL
            WHEN ru THEN pg_temp.ru_sentence(10, n)
                         || CASE WHEN nsent >= 2 THEN ' ' || pg_temp.ru_sentence(20, n) ELSE '' END
                         || CASE WHEN nsent >= 3 THEN ' ' || pg_temp.ru_sentence(30, n) ELSE '' END
            ELSE pg_temp.en_sentence(10, n)
                 || CASE WHEN nsent >= 2 THEN ' ' || pg_temp.en_sentence(20, n) ELSE '' END
                 || CASE WHEN nsent >= 3 THEN ' ' || pg_temp.en_sentence(30, n) ELSE '' END
       END,
       CASE WHEN pg_temp.u(40, n) < 0.01 THEN NULL
            ELSE date '1920-01-01' + pg_temp.r(41, n, 38000) END,
       (ARRAY['G','PG','PG-13','R','NC-17','0+','6+','12+','16+','18+'])[1 + pg_temp.r(42, n, 17)],
       CASE WHEN pg_temp.u(43, n) < 0.3 THEN 'films/' || pg_temp.id(1, n) || '.mp4' END,
       CASE WHEN pg_temp.u(44, n) < 0.02 THEN NULL
            ELSE round(((pg_temp.u(45, n) + pg_temp.u(46, n)) * 5)::numeric, 1)::real END,
       CASE WHEN pg_temp.u(47, n) < 0.15 THEN 'tv_show'::public.filmwork_type
            ELSE 'movie'::public.filmwork_type END,
       CASE WHEN pg_temp.u(48, n) < 0.5 THEN ts
            ELSE ts - pg_temp.r(49, n, 2 * 365 * 86400) * interval '1 second' END,
       ts
FROM (SELECT n,
             pg_temp.u(1, n) < 0.5 AS ru,
             pg_temp.r(2, n, 6) AS pat,
             pg_temp.r(3, n, 40) AS a,
             pg_temp.r(4, n, 40) AS b,
             -- c != b
             (pg_temp.r(4, n, 40) + 1 + pg_temp.r(5, n, 39)) % 40 AS c,
             1 + pg_temp.r(9, n, 3) AS nsent,
             pg_temp.ts(timestamptz '2024-01-01 00:00:00+00', n) AS ts
      FROM generate_series(1, :films_n::bigint) AS n
      OFFSET 0) AS f;

------------------------------------------------------------------------------
-- person_film_work: up to 12 slots per film (2 director, 3 writer, 7 actor
-- slots, each present with its own probability), skewed person choice,
-- duplicates (same film, person, role) dropped per film.
------------------------------------------------------------------------------

\echo person_film_work
INSERT INTO content.person_film_work (id, film_work_id, person_id, role, created_at)
SELECT pg_temp.id(4, f.n * 16 + x.s), f.film_id, pg_temp.id(2, x.p), x.role, f.ts
FROM (SELECT n, pg_temp.id(1, n) AS film_id,
             pg_temp.ts(timestamptz '2024-01-01 00:00:00+00', n) AS ts
      FROM generate_series(1, :films_n::bigint) AS n
      WHERE pg_temp.u(200, n) >= 0.02          -- 2% of films have no people
      OFFSET 0) AS f
CROSS JOIN LATERAL (
    SELECT DISTINCT ON (role, p) s, role, p
    FROM (SELECT s,
                 (ARRAY['director','director','writer','writer','writer','actor','actor',
                        'actor','actor','actor','actor','actor']::public.person_role[])[s + 1] AS role,
                 1 + floor(:films_n * power(pg_temp.u(202, f.n * 16 + s), 1.5::float8))::bigint AS p
          FROM generate_series(0, 11) AS s
          WHERE pg_temp.u(201, f.n * 16 + s)
                < (ARRAY[0.95, 0.05, 0.80, 0.45, 0.05, 0.95, 0.90, 0.80, 0.60, 0.40, 0.20, 0.10])[s + 1]
         ) AS slots
    ORDER BY role, p, s
) AS x;

------------------------------------------------------------------------------
-- genre_film_work: 1..3 distinct genres per film (popular genres more often)
------------------------------------------------------------------------------

\echo genre_film_work
INSERT INTO content.genre_film_work (id, film_work_id, genre_id, created_at)
SELECT pg_temp.id(5, n * 4 + i), film_id,
       (pg_temp.genre_ids())[1 + (g0 + i * step) % 30], ts
FROM (SELECT n, pg_temp.id(1, n) AS film_id,
             pg_temp.ts(timestamptz '2024-01-01 00:00:00+00', n) AS ts,
             1 + (pg_temp.u(300, n) >= 0.30)::int + (pg_temp.u(300, n) >= 0.75)::int AS cnt,
             floor(30 * power(pg_temp.u(301, n), 1.7::float8))::int AS g0,
             1 + pg_temp.r(302, n, 9) AS step
      FROM generate_series(1, :films_n::bigint) AS n
      OFFSET 0) AS f
CROSS JOIN generate_series(0, 2) AS i
WHERE i < cnt;

------------------------------------------------------------------------------
-- Recreate constraints and indexes: PK/unique, then indexes, then foreign keys
------------------------------------------------------------------------------

\timing off
\set QUIET on
SELECT clock_timestamp() AS gen_t1 \gset
SELECT create_sql FROM gen_saved ORDER BY ord, name \gexec
COMMIT;
SELECT clock_timestamp() - :'gen_t1'::timestamptz AS gen_took \gset
\echo recreated constraints and indexes, committed: :gen_took
\echo VACUUM ANALYZE
\timing on

VACUUM ANALYZE content.film_work, content.person, content.genre,
               content.person_film_work, content.genre_film_work;

\timing off
SELECT clock_timestamp() - :'gen_t0'::timestamptz AS elapsed,
       (SELECT count(*) FROM content.film_work)        AS film_work,
       (SELECT count(*) FROM content.person)           AS person,
       (SELECT count(*) FROM content.genre)            AS genre,
       (SELECT count(*) FROM content.person_film_work) AS person_film_work,
       (SELECT count(*) FROM content.genre_film_work)  AS genre_film_work;
