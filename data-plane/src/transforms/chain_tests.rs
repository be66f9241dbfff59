//! Tests of chain parsing, predicates and multi-step chains.

use serde_json::json;

use super::testing::{chain, config, config_errors, orders_value};
use super::Chain;
use crate::record::{Header, Record};

const PKG: &str = "org.apache.kafka.connect.transforms.";

#[test]
fn no_transforms_is_an_empty_chain() {
    let c = Chain::from_config(&config(&[("transforms", " ")])).unwrap();
    assert!(c.is_empty());
    let r = Record::new("t", None, Some(json!(1)));
    assert_eq!(c.apply(r.clone()).unwrap(), Some(r));
}

#[test]
fn chain_of_three_runs_in_order() {
    let c = chain(&[
        ("transforms", "castIt,ts,route"),
        ("transforms.castIt.type", &format!("{PKG}Cast$Value")),
        ("transforms.castIt.spec", "orderunits:int32"),
        (
            "transforms.ts.type",
            &format!("{PKG}TimestampConverter$Value"),
        ),
        ("transforms.ts.field", "ordertime"),
        ("transforms.ts.target.type", "string"),
        ("transforms.ts.format", "yyyy-MM-dd"),
        ("transforms.route.type", &format!("{PKG}RegexRouter")),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "$1-typed"),
    ]);
    assert_eq!(c.names().collect::<Vec<_>>(), vec!["castIt", "ts", "route"]);
    let out = c
        .apply(Record::new(
            "orders",
            Some(json!(18)),
            Some(orders_value(1_500_000_000_000)),
        ))
        .unwrap()
        .unwrap();
    assert_eq!(out.topic, "orders-typed");
    let v = out.value.unwrap();
    assert_eq!(v["orderunits"], json!(4));
    assert_eq!(v["ordertime"], json!("2017-07-14"));
    assert_eq!(out.key, Some(json!(18)));
}

fn filtered(negate: &str) -> Chain {
    chain(&[
        ("transforms", "dropTest,extract"),
        ("transforms.dropTest.type", &format!("{PKG}Filter")),
        ("transforms.dropTest.predicate", "isTest"),
        ("transforms.dropTest.negate", negate),
        (
            "transforms.extract.type",
            &format!("{PKG}ExtractField$Value"),
        ),
        ("transforms.extract.field", "id"),
        ("transforms.extract.predicate", "hasTrace"),
        ("predicates", "isTest,hasTrace"),
        (
            "predicates.isTest.type",
            &format!("{PKG}predicates.TopicNameMatches"),
        ),
        ("predicates.isTest.pattern", "test-.*"),
        (
            "predicates.hasTrace.type",
            &format!("{PKG}predicates.HasHeaderKey"),
        ),
        ("predicates.hasTrace.name", "trace"),
    ])
}

#[test]
fn predicates_gate_steps() {
    let c = filtered("false");
    let test = Record::new("test-orders", None, Some(json!({"id": 1})));
    assert_eq!(c.apply(test).unwrap(), None);

    let mut traced = Record::new("orders", None, Some(json!({"id": 1})));
    traced.headers.push(Header {
        key: "trace".into(),
        value: None,
    });
    assert_eq!(c.apply(traced).unwrap().unwrap().value, Some(json!(1)));

    let plain = Record::new("orders", None, Some(json!({"id": 1})));
    assert_eq!(
        c.apply(plain).unwrap().unwrap().value,
        Some(json!({"id": 1}))
    );
}

#[test]
fn negate_inverts_the_predicate() {
    let c = filtered("TRUE");
    let test = Record::new("test-orders", None, Some(json!({"id": 1})));
    assert!(c.apply(test).unwrap().is_some());
    let prod = Record::new("orders", None, Some(json!({"id": 1})));
    assert_eq!(c.apply(prod).unwrap(), None);
}

#[test]
fn tombstone_predicate() {
    let c = chain(&[
        ("transforms", "dropTombstones"),
        ("transforms.dropTombstones.type", &format!("{PKG}Filter")),
        ("transforms.dropTombstones.predicate", "tomb"),
        ("predicates", "tomb"),
        (
            "predicates.tomb.type",
            &format!("{PKG}predicates.RecordIsTombstone"),
        ),
    ]);
    assert_eq!(
        c.apply(Record::new("t", Some(json!(1)), None)).unwrap(),
        None
    );
    assert!(c
        .apply(Record::new("t", None, Some(json!(1))))
        .unwrap()
        .is_some());
}

#[test]
fn validation_reports_every_problem_by_key() {
    let errors = config_errors(&[
        ("transforms", "a,b,a,c,d,e"),
        ("transforms.a.type", "com.example.Nope"),
        ("transforms.b.type", &format!("{PKG}Cast")),
        ("transforms.d.type", &format!("{PKG}Filter")),
        ("transforms.d.predicate", "missing"),
        ("transforms.d.negate", "maybe"),
        ("transforms.e.type", &format!("{PKG}RegexRouter$Value")),
        ("predicates", "p,q"),
        (
            "predicates.p.type",
            &format!("{PKG}predicates.TopicNameMatches"),
        ),
        ("predicates.p.pattern", "(unclosed"),
        ("predicates.q.type", &format!("{PKG}predicates.Nope")),
    ]);
    let got: Vec<(String, String)> = errors.into_iter().map(|e| (e.key, e.message)).collect();
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "transforms",
            "predicates.p.pattern",
            "predicates.q.type",
            "transforms.a.type",
            "transforms.b.type",
            "transforms.c.type",
            "transforms.d.negate",
            "transforms.d.predicate",
            "transforms.e.type",
        ],
        "{got:#?}"
    );
    assert!(got[0].1.contains("duplicate alias 'a'"));
    assert!(
        got[3]
            .1
            .starts_with("unknown transform class 'com.example.Nope'"),
        "{}",
        got[3].1
    );
    assert!(
        got[4].1.contains("needs a $Key or $Value suffix"),
        "{}",
        got[4].1
    );
    assert_eq!(got[5].1, "missing required setting");
    assert!(got[7].1.contains("'missing' is not listed"), "{}", got[7].1);
}

#[test]
fn a_failing_predicate_config_is_reported_once() {
    let errors = config_errors(&[
        ("transforms", "f"),
        ("transforms.f.type", &format!("{PKG}Filter")),
        ("transforms.f.predicate", "h"),
        ("predicates", "h"),
        (
            "predicates.h.type",
            &format!("{PKG}predicates.HasHeaderKey"),
        ),
    ]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].key, "predicates.h.name");
}

#[test]
fn runtime_errors_name_alias_and_class() {
    let c = chain(&[
        ("transforms", "flat"),
        ("transforms.flat.type", &format!("{PKG}Flatten$Value")),
    ]);
    let err = c
        .apply(Record::new("t", None, Some(json!([1]))))
        .unwrap_err();
    assert_eq!(err.transform, "flat");
    assert_eq!(
        err.to_string(),
        "transform flat failed: Flatten$Value: Only Map objects supported in absence of schema for [flattening], found: array"
    );
}

#[test]
fn chain_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Chain>();
}
