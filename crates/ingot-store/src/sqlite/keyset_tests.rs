//! Tests of page tokens and of the "sorts after" predicate's shape.

use super::*;

fn order() -> Order {
    Order {
        terms: vec![
            Term::column("r.start_time", false, Nulls::Never),
            Term::column("r.run_uuid", true, Nulls::Never),
        ],
    }
}

#[test]
fn tokens_round_trip_and_stay_opaque() {
    let keys = vec![
        Key::N,
        Key::I(-7),
        Key::F(f64::INFINITY.to_bits()),
        Key::S("a\"b'é".to_string()),
    ];
    let token = encode("q1", keys.clone());
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert!(!token.contains("q1"));
    assert_eq!(decode(Some(&token), "q1").unwrap(), Some(keys));
    assert_eq!(decode(None, "q1").unwrap(), None);
    assert_eq!(decode(Some(""), "q1").unwrap(), None);
}

#[test]
fn foreign_and_garbled_tokens_are_invalid() {
    let token = encode("q1", vec![Key::I(1)]);
    for (bad, fingerprint) in [
        (token.as_str(), "q2"),
        ("offset:10", "q1"),
        ("%%%", "q1"),
        ("e30", "q1"),
        (&token[..token.len() - 3], "q1"),
    ] {
        let result = decode(Some(bad), fingerprint);
        assert!(
            matches!(result, Err(Error::Invalid { ref what, .. }) if what == "page_token"),
            "{bad}: {result:?}"
        );
    }
}

#[test]
fn base64_matches_the_standard_alphabet_without_padding() {
    // RFC 4648 test vectors, URL-safe and unpadded.
    for (plain, coded) in [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64_encode(plain.as_bytes()), coded);
        assert_eq!(base64_decode(coded).unwrap(), plain.as_bytes());
    }
    assert_eq!(base64_encode(&[0xfb, 0xff]), "-_8");
}

#[test]
fn fingerprints_differ_by_query() {
    assert_eq!(fingerprint(&("runs", 1)), fingerprint(&("runs", 1)));
    assert_ne!(fingerprint(&("runs", 1)), fingerprint(&("runs", 2)));
}

#[test]
fn after_seeks_the_first_column_and_expands_ties() {
    let after = order()
        .after(Some(&[Key::I(5), Key::S("abc".to_string())]))
        .unwrap();
    assert_eq!(
        after.sql,
        " AND r.start_time <= ? AND ((r.start_time < ?) OR (r.start_time = ? AND r.run_uuid > ?))"
    );
    assert_eq!(
        after.binds,
        vec![
            Bind::Int(5),
            Bind::Int(5),
            Bind::Int(5),
            Bind::Text("abc".to_string())
        ]
    );
    assert_eq!(order().after(None).unwrap(), Fragment::default());
    assert!(order().after(Some(&[Key::I(5)])).is_err());
}

#[test]
fn nulls_last_terms_let_nulls_follow_and_stop_after_a_null() {
    let order = Order {
        terms: vec![
            Term::column("r.end_time", false, Nulls::Last),
            Term::column("r.run_uuid", true, Nulls::Never),
        ],
    };
    let after = order
        .after(Some(&[Key::I(3), Key::S("x".to_string())]))
        .unwrap();
    assert!(
        after.sql.contains("(r.end_time < ? OR r.end_time IS NULL)"),
        "{}",
        after.sql
    );
    let after = order
        .after(Some(&[Key::N, Key::S("x".to_string())]))
        .unwrap();
    assert_eq!(after.sql, " AND ((r.end_time IS NULL AND r.run_uuid > ?))");
    assert_eq!(
        order.by().sql,
        "r.end_time IS NULL, r.end_time DESC, r.run_uuid ASC"
    );
}
