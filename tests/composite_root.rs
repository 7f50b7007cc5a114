//! A root whose key is the pair `(operator, code)` (`tests/composite_root/`): the document `_id`
//! is the parts' text (README, "Composite keys"), and every relation to it, or to another
//! composite key, is a ref of as many columns: the line's depot (a `one:` object), its calls
//! (a child list) with each call's station (a second hop keyed by `(city, name)`), its drivers
//! through shifts; lists inside lists: each call's notices (keyed under the call's three
//! columns) and each driver's licences. Keys hold `/`, `%`, spaces and non-ASCII. In every capture mode, each change
//! reaches the index, compared with documents built independently in SQL, `_id` included.

use crate::support::fixture::{Fixture, Parts};

async fn lines(test: &str, capture: &'static str) -> Fixture {
    let parts = Parts {
        schema: "tests/composite_root/schema.sql",
        pipeline: "lines",
        declaration: "tests/composite_root/lines.yaml",
        expected: include_str!("composite_root/expected.sql"),
        // Pages smaller than a line's calls: keysets page inside the rows of one line.
        batch_size: 2,
    };
    Fixture::new(test, capture, parts).await
}

async fn every_relation_changes(lines: &Fixture) {
    lines.cycle("the back-fill", "", true).await;
    lines
        .cycle(
            "a line renamed and a new line with its calls and shifts",
            "UPDATE route.line SET name = 'Renamed', updated_at = now()
                 WHERE operator = 'BVG/S' AND code = '1/2';
             INSERT INTO route.line (operator, code, name, fare, depot_region, depot_num)
             VALUES ('Üstra 50%', '1/2', 'New', 99999999999999999.99, 'nord', 2);
             INSERT INTO route.call (line_operator, line_code, seq, station_city, station_name, minutes)
             VALUES ('Üstra 50%', '1/2', 1, 'Paris', 'Gare/Nord', 1),
                    ('Üstra 50%', '1/2', 2, 'Berlin', 'Zoo', 2);
             INSERT INTO route.shift (line_operator, line_code, driver_id, since)
             VALUES ('Üstra 50%', '1/2', 6, '2026-12-01')",
            true,
        )
        .await;
    lines
        .cycle(
            "a call changed, a call and a shift added to existing lines",
            "UPDATE route.call SET minutes = 42, updated_at = now()
                 WHERE line_operator = 'RATP' AND line_code = 'N 7' AND seq = 2;
             INSERT INTO route.call (line_operator, line_code, seq, station_city, station_name, minutes)
             VALUES ('BVG/S', '%2Fx7', 4, 'Hannover', 'Kröpcke', 12);
             INSERT INTO route.shift (line_operator, line_code, driver_id, since)
             VALUES ('RATP', 'éx9', 5, '2026-11-30')
             ON CONFLICT DO NOTHING",
            true,
        )
        .await;
    lines
        .cycle(
            "notices and licences inserted and changed",
            "INSERT INTO route.notice (line_operator, line_code, call_seq, num, body)
                 VALUES ('RATP', 'N 7', 2, 7, 'détour'), ('BVG/S', '%2Fx7', 4, 1, 'new call''s');
             UPDATE route.notice SET body = 'changed', updated_at = now()
                 WHERE (line_operator, line_code, call_seq, num) =
                       (SELECT line_operator, line_code, call_seq, num FROM route.notice ORDER BY 1, 2, 3, 4 LIMIT 1);
             INSERT INTO route.licence (driver_id, class, until) VALUES (3, 'B', '2027-02-03')
                 ON CONFLICT DO NOTHING;
             UPDATE route.licence SET until = '2031-12-31', updated_at = now() WHERE driver_id = 1 AND class = 'D'",
            true,
        )
        .await;
    lines
        .cycle(
            "a notice moved to another call",
            "UPDATE route.notice SET call_seq = 3, num = 9, updated_at = now()
                 WHERE (line_operator, line_code, call_seq, num) =
                       (SELECT line_operator, line_code, call_seq, num FROM route.notice
                        WHERE call_seq <> 3 ORDER BY 1 DESC, 2, 3, 4 LIMIT 1)",
            false,
        )
        .await;
    lines
        .cycle(
            "a notice and a licence deleted",
            "DELETE FROM route.notice WHERE (line_operator, line_code, call_seq, num) =
                 (SELECT line_operator, line_code, call_seq, num FROM route.notice ORDER BY 4, 3, 2, 1 LIMIT 1);
             DELETE FROM route.licence WHERE driver_id = 2 AND class = 'B'",
            false,
        )
        .await;
    lines
        .cycle(
            "a call deleted, one moved to another line",
            "DELETE FROM route.call WHERE line_operator = 'BVG/S' AND line_code = 'é' AND seq = 1;
             UPDATE route.call SET line_code = '1', seq = 9, updated_at = now()
                 WHERE line_operator = 'Üstra 50%' AND line_code = '%2F' AND seq = 3",
            false,
        )
        .await;
    lines
        .cycle(
            "a depot, a station and a driver renamed",
            "UPDATE route.depot SET name = 'Süd-Ost eins', updated_at = now()
                 WHERE region = 'süd/ost' AND num = 1;
             UPDATE route.station SET zone = 7, updated_at = now()
                 WHERE city = 'Paris' AND name = 'Gare/Nord';
             UPDATE route.driver SET name = 'Driver six', updated_at = now() WHERE id = 6",
            true,
        )
        .await;
    lines
        .cycle(
            "a shift deleted, a line's depot cleared",
            "DELETE FROM route.shift WHERE driver_id = 6 AND line_code = '1/2';
             UPDATE route.line SET depot_region = NULL, depot_num = NULL, updated_at = now()
                 WHERE operator = 'RATP' AND code = 'N 7'",
            false,
        )
        .await;
    lines
        .cycle(
            "a line's key changed (its calls and shifts follow) and a line deleted",
            "UPDATE route.line SET code = 'N 7/b', updated_at = now()
                 WHERE operator = 'RATP' AND code = 'N 7';
             DELETE FROM route.call WHERE line_operator = 'BVG/S' AND line_code = 'é';
             DELETE FROM route.shift WHERE line_operator = 'BVG/S' AND line_code = 'é';
             DELETE FROM route.line WHERE operator = 'BVG/S' AND code = 'é'",
            false,
        )
        .await;
    lines.cycle("a restart with nothing new", "", true).await;
}

#[tokio::test]
async fn a_composite_root_key_and_composite_refs_reach_the_index_in_polling_mode() {
    let lines = lines("composite_root_polling", "polling").await;
    every_relation_changes(&lines).await;
    // The root's cursor is the encoded parts of the last line it saw.
    let state = lines.worker.state_of("lines").expect("a state file");
    assert_eq!(
        state["cursors"]["route.line"]["id"], "RATP/N 7%2Fb",
        "{state}"
    );
}

#[tokio::test]
async fn a_composite_root_key_and_composite_refs_reach_the_index_in_triggers_mode() {
    every_relation_changes(&lines("composite_root_triggers", "triggers").await).await;
}

#[tokio::test]
async fn a_composite_root_key_and_composite_refs_reach_the_index_in_logical_mode() {
    if crate::support::no_logical_capture(
        "a_composite_root_key_and_composite_refs_reach_the_index_in_logical_mode",
    ) {
        return;
    }
    every_relation_changes(&lines("composite_root_logical", "logical").await).await;
}
