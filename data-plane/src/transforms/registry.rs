//! Transform classes by name: `org.apache.kafka.connect.transforms.<Name>`
//! plus `$Key` / `$Value` for transforms that work on either side, and
//! third-party classes by their full name (Debezium's).

use super::props::Props;
use super::util::Side;
use super::{
    cast, drop_headers, extract_field, extract_new_record_state, filter, flatten, header_from,
    hoist_field, insert_field, insert_header, mask_field, regex_router, replace_field,
    set_schema_metadata, timestamp_converter, timestamp_router, value_to_key, Transform,
};

pub(crate) const PACKAGE: &str = "org.apache.kafka.connect.transforms.";

type KeyedBuilder = fn(&mut Props, Side) -> Option<Box<dyn Transform>>;
type PlainBuilder = fn(&mut Props) -> Option<Box<dyn Transform>>;

enum Builder {
    /// Exists as `Name$Key` and `Name$Value`.
    Keyed(KeyedBuilder),
    /// A single class `Name`.
    Plain(PlainBuilder),
}

fn filter_builder(_: &mut Props) -> Option<Box<dyn Transform>> {
    Some(Box::new(filter::Filter))
}

const CLASSES: &[(&str, Builder)] = &[
    ("Cast", Builder::Keyed(cast::build)),
    ("DropHeaders", Builder::Plain(drop_headers::build)),
    ("ExtractField", Builder::Keyed(extract_field::build)),
    ("Filter", Builder::Plain(filter_builder)),
    ("Flatten", Builder::Keyed(flatten::build)),
    ("HeaderFrom", Builder::Keyed(header_from::build)),
    ("HoistField", Builder::Keyed(hoist_field::build)),
    ("InsertField", Builder::Keyed(insert_field::build)),
    ("InsertHeader", Builder::Plain(insert_header::build)),
    ("MaskField", Builder::Keyed(mask_field::build)),
    ("RegexRouter", Builder::Plain(regex_router::build)),
    ("ReplaceField", Builder::Keyed(replace_field::build)),
    (
        "SetSchemaMetadata",
        Builder::Keyed(set_schema_metadata::build),
    ),
    (
        "TimestampConverter",
        Builder::Keyed(timestamp_converter::build),
    ),
    ("TimestampRouter", Builder::Plain(timestamp_router::build)),
    ("ValueToKey", Builder::Plain(value_to_key::build)),
];

/// Classes outside Kafka's package, by full name.
const OTHER_CLASSES: &[(&str, PlainBuilder)] = &[(
    extract_new_record_state::CLASS,
    extract_new_record_state::build,
)];

/// The outcome of looking a class up and configuring it.
pub(crate) enum Built {
    Ok(Box<dyn Transform>, String),
    /// The settings were invalid; the problems are recorded in `props`.
    Invalid,
    /// The class name itself is wrong; the message says why.
    UnknownClass(String),
}

/// Looks up `class` and builds it from `props`. The returned label
/// (`Cast$Value`) names the transform in runtime errors.
pub(crate) fn build(class: &str, props: &mut Props) -> Built {
    if let Some((_, builder)) = OTHER_CLASSES.iter().find(|(name, _)| *name == class) {
        let label = class.rsplit('.').next().unwrap_or(class).to_string();
        return match builder(props) {
            Some(t) if !props.has_errors() => Built::Ok(t, label),
            _ => Built::Invalid,
        };
    }
    let Some(short) = class.strip_prefix(PACKAGE).filter(|s| !s.contains('.')) else {
        return Built::UnknownClass(unknown(class));
    };
    let (base, side) = match short.split_once('$') {
        Some((base, "Key")) => (base, Some(Side::Key)),
        Some((base, "Value")) => (base, Some(Side::Value)),
        Some(_) => return Built::UnknownClass(unknown(class)),
        None => (short, None),
    };
    let Some((_, builder)) = CLASSES.iter().find(|(name, _)| *name == base) else {
        return Built::UnknownClass(unknown(class));
    };
    let transform = match (builder, side) {
        (Builder::Keyed(b), Some(side)) => b(props, side),
        (Builder::Plain(b), None) => b(props),
        (Builder::Keyed(_), None) => {
            return Built::UnknownClass(format!(
                "'{class}' needs a $Key or $Value suffix: use {PACKAGE}{base}$Key or {PACKAGE}{base}$Value"
            ))
        }
        (Builder::Plain(_), Some(_)) => {
            return Built::UnknownClass(format!(
                "'{class}' has no $Key/$Value variants: use {PACKAGE}{base}"
            ))
        }
    };
    match transform {
        Some(t) if !props.has_errors() => Built::Ok(t, short.to_string()),
        _ => Built::Invalid,
    }
}

fn unknown(class: &str) -> String {
    let supported: Vec<String> = CLASSES
        .iter()
        .map(|(name, b)| match b {
            Builder::Keyed(_) => format!("{name}$Key, {name}$Value"),
            Builder::Plain(_) => name.to_string(),
        })
        .collect();
    let hint = if class.starts_with("io.confluent.") {
        " (Confluent-licensed SMTs are not available)"
    } else {
        ""
    };
    let others: Vec<&str> = OTHER_CLASSES.iter().map(|(name, _)| *name).collect();
    format!(
        "unknown transform class '{class}'{hint}; supported classes are {PACKAGE}{{{}}}, {}",
        supported.join(", "),
        others.join(", ")
    )
}
