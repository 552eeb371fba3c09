//! Typed option structs: each driver family declares its options once, with their names, types,
//! defaults and where they come from (the driver, the driver else the global `options {}`, or
//! only the globals), and reads them into a plain struct when the driver is built. The driver's
//! code then uses fields, never names, and the declaration gives the names for
//! [`crate::consumed`], so the list of options a driver acts on cannot drift from what it reads.
//!
//! ```ignore
//! typed_options! {
//!     /// What a listener reads.
//!     pub struct ListenerOptions {
//!         driver {
//!             /// `max-connections()`; the family decides the default.
//!             pub max_connections: usize = "max-connections" if (|&n| n > 0);
//!             pub log_iw_size: usize = "log-iw-size" if (|&n| n > 0) or (100);
//!             pub flags: Flags = "flags" or (Flags::default());
//!         }
//!         inherited {
//!             pub keep_hostname: bool = "keep-hostname" or (false);
//!         }
//!         global {}
//!     }
//! }
//! ```
//!
//! A field without `or (DEFAULT)` is an `Option` of its type (absent when not given; lists take
//! an empty default); `if
//! (FILTER)` drops values that do not pass, so the default applies to them as to an absent
//! option (syslog-ng's "0 means the default").

use std::sync::Arc;

use rsng_config::ir::{OptionValue, Value};
use rsng_config::source_map::FileSpan;

use super::{as_bool, as_int, as_str, collect_strings, collect_words};

/// A type an option's value converts to. `values` are every occurrence of the option, in order
/// (the last one wins for single values; lists collect them all).
pub trait OptionField: Sized {
    fn from_values(values: &[&OptionValue]) -> Option<Self>;
}

fn last<'a>(values: &[&'a OptionValue]) -> Option<&'a Value> {
    values.last().map(|o| &o.value)
}

impl OptionField for bool {
    fn from_values(values: &[&OptionValue]) -> Option<bool> {
        last(values).and_then(as_bool)
    }
}

impl OptionField for i64 {
    fn from_values(values: &[&OptionValue]) -> Option<i64> {
        last(values).and_then(as_int)
    }
}

/// Seconds and other fractions (`dynamic-window-stats-freq(0.5)`); an integer reads as well.
impl OptionField for f64 {
    fn from_values(values: &[&OptionValue]) -> Option<f64> {
        match last(values)? {
            Value::Float(f) => Some(*f),
            Value::Int(n) => Some(*n as f64),
            Value::Str(s) | Value::Raw(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Narrower integers; a value out of the type's range (a negative size) reads as absent.
macro_rules! integer_field {
    ($($t:ty),*) => {$(
        impl OptionField for $t {
            fn from_values(values: &[&OptionValue]) -> Option<$t> {
                last(values).and_then(as_int).and_then(|n| <$t>::try_from(n).ok())
            }
        }
    )*};
}
integer_field!(i32, u16, u32, u64, usize);

impl OptionField for String {
    fn from_values(values: &[&OptionValue]) -> Option<String> {
        last(values).and_then(as_str).map(String::from)
    }
}

impl OptionField for Arc<str> {
    fn from_values(values: &[&OptionValue]) -> Option<Arc<str>> {
        last(values).and_then(as_str).map(Arc::from)
    }
}

/// The value as written, for options whose reading depends on its shape (`port(514)` or
/// `port("syslog")`).
impl OptionField for Value {
    fn from_values(values: &[&OptionValue]) -> Option<Value> {
        last(values).cloned()
    }
}

/// Every string of a list option as written (`tags("a" "b")`), over all its occurrences.
impl OptionField for Vec<String> {
    fn from_values(values: &[&OptionValue]) -> Option<Vec<String>> {
        let mut out = Vec::new();
        values.iter().for_each(|o| collect_strings(&o.value, &mut out));
        Some(out)
    }
}

/// The words of a `flags()`-like option, lowercased with `_` read as `-`, over all its
/// occurrences.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags(pub Vec<String>);

impl Flags {
    pub fn contains(&self, word: &str) -> bool {
        self.0.iter().any(|w| w == word)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl OptionField for Flags {
    fn from_values(values: &[&OptionValue]) -> Option<Flags> {
        let mut out = Vec::new();
        values.iter().for_each(|o| collect_words(&o.value, &mut out));
        Some(Flags(out))
    }
}

/// An option read from its last occurrence only, for list options where each occurrence
/// replaces the ones before (`patterns()` of `regexp-parser()`, `format()` of `date-parser()`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Last<T>(pub T);

/// Absent when the option is not given (a list type alone reads as empty then).
impl<T: OptionField> OptionField for Last<T> {
    fn from_values(values: &[&OptionValue]) -> Option<Last<T>> {
        let last = values.last()?;
        T::from_values(&[last]).map(Last)
    }
}

/// A value with the place of the option's last occurrence, for errors that point at it and for
/// options whose effect depends on the order they are written in (`quotes()` and
/// `quote-pairs()` of `csv-parser()` set one thing; the later one wins).
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    /// The option's canonical name.
    pub name: &'static str,
    pub span: FileSpan,
}

impl<T> Located<T> {
    /// Whether this occurrence is written after `other` (in the same file, or in a file read
    /// later).
    pub fn after<U>(&self, other: &Located<U>) -> bool {
        (self.span.file, self.span.start) > (other.span.file, other.span.start)
    }
}

impl<T: OptionField> OptionField for Located<T> {
    fn from_values(values: &[&OptionValue]) -> Option<Located<T>> {
        let last = values.last()?;
        Some(Located { value: T::from_values(values)?, name: last.name, span: last.span })
    }
}

/// The later of two optional occurrences of options that set the same thing.
pub fn later<'a, T>(a: Option<&'a Located<T>>, b: Option<&'a Located<T>>) -> Option<&'a Located<T>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.after(a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The field type: `T` with a default, else `Option<T>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __typed_option_type {
    ($ty:ty) => { Option<$ty> };
    ($ty:ty, $default:expr) => { $ty };
}

/// The field value from the option's converted value.
#[doc(hidden)]
#[macro_export]
macro_rules! __typed_option_value {
    ($read:expr) => {
        $read
    };
    ($read:expr, $default:expr) => {
        $read.unwrap_or_else(|| $default)
    };
}

/// Declares a typed option struct; see the [module](crate::options::typed) documentation.
#[macro_export]
macro_rules! typed_options {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            driver {
                $( $(#[$dmeta:meta])* $dvis:vis $dfield:ident : $dty:ty = $dopt:literal
                    $(if ($dfilter:expr))? $(or ($ddefault:expr))? ; )*
            }
            inherited {
                $( $(#[$imeta:meta])* $ivis:vis $ifield:ident : $ity:ty = $iopt:literal
                    $(if ($ifilter:expr))? $(or ($idefault:expr))? ; )*
            }
            global {
                $( $(#[$gmeta:meta])* $gvis:vis $gfield:ident : $gty:ty = $gopt:literal
                    $(if ($gfilter:expr))? $(or ($gdefault:expr))? ; )*
            }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name {
            $( $(#[$dmeta])* $dvis $dfield: $crate::__typed_option_type!($dty $(, $ddefault)?), )*
            $( $(#[$imeta])* $ivis $ifield: $crate::__typed_option_type!($ity $(, $idefault)?), )*
            $( $(#[$gmeta])* $gvis $gfield: $crate::__typed_option_type!($gty $(, $gdefault)?), )*
        }

        impl $name {
            /// The options read from the driver (canonical names), its own or inherited.
            #[allow(dead_code)]
            pub const DRIVER_OPTIONS: &'static [&'static str] = &[$($dopt,)* $($iopt,)*];
            /// The global options read, as a driver's fallback or on their own.
            #[allow(dead_code)]
            pub const GLOBAL_OPTIONS: &'static [&'static str] = &[$($iopt,)* $($gopt,)*];

            /// Reads every option of the struct (recording each read, see
            /// [`rsng_config::ir::record_reads`]).
            #[allow(clippy::redundant_closure_call, unused_variables)]
            pub fn read(opts: &$crate::options::Options<'_>) -> $name {
                use $crate::options::typed::OptionField;
                $name {
                    $( $dfield: $crate::__typed_option_value!(
                        <$dty as OptionField>::from_values(&opts.values($dopt)) $(.filter($dfilter))?
                        $(, $ddefault)?), )*
                    $( $ifield: $crate::__typed_option_value!(
                        <$ity as OptionField>::from_values(&opts.values_or_global($iopt)) $(.filter($ifilter))?
                        $(, $idefault)?), )*
                    $( $gfield: $crate::__typed_option_value!(
                        <$gty as OptionField>::from_values(&opts.global_values($gopt)) $(.filter($gfilter))?
                        $(, $gdefault)?), )*
                }
            }

            /// Reads the struct from the globals alone, for what belongs to no driver (the
            /// driver's own options take their defaults). Each lookup is recorded in
            /// `globals`; see [`$crate::options::Globals::detached`] for reads no driver
            /// depends on.
            #[allow(clippy::redundant_closure_call, unused_variables, dead_code)]
            pub fn read_globals(globals: &$crate::options::Globals) -> $name {
                use $crate::options::typed::OptionField;
                let global = |name: &str| globals.get_option(name).into_iter().collect::<Vec<_>>();
                $name {
                    $( $dfield: $crate::__typed_option_value!(
                        <$dty as OptionField>::from_values(&[]) $(.filter($dfilter))?
                        $(, $ddefault)?), )*
                    $( $ifield: $crate::__typed_option_value!(
                        <$ity as OptionField>::from_values(&global($iopt)) $(.filter($ifilter))?
                        $(, $idefault)?), )*
                    $( $gfield: $crate::__typed_option_value!(
                        <$gty as OptionField>::from_values(&global($gopt)) $(.filter($gfilter))?
                        $(, $gdefault)?), )*
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use rsng_config::ir::{Config, Driver, OptionValue};
    use rsng_config::source_map::FileSpan;

    use super::*;
    use crate::options::{Globals, Options};

    typed_options! {
        struct Sample {
            driver {
                size: usize = "log-iw-size" if (|&n| n > 0) or (100);
                host: String = "host-override";
                flags: Flags = "flags" or (Flags::default());
                tags: Vec<String> = "tags" or (Vec::new());
            }
            inherited {
                keep: bool = "keep-hostname" or (false);
            }
            global {
                bad: String = "bad-hostname";
            }
        }
    }

    const SPAN: FileSpan = FileSpan { file: 0, start: 0, end: 0 };

    fn option(name: &'static str, value: Value) -> OptionValue {
        OptionValue { name, value, span: SPAN }
    }

    #[test]
    fn last_and_located_read_the_last_occurrence_with_its_place() {
        let at = |start: usize| FileSpan { file: 0, start, end: start + 1 };
        let a = OptionValue { name: "patterns", value: Value::Str("a".into()), span: at(5) };
        let b = OptionValue { name: "patterns", value: Value::Str("b".into()), span: at(9) };
        let q = OptionValue { name: "quotes", value: Value::Str("'".into()), span: at(7) };
        assert_eq!(Last::<Vec<String>>::from_values(&[&a, &b]), Some(Last(vec!["b".to_string()])));
        assert_eq!(Last::<Vec<String>>::from_values(&[]), None, "absent, not an empty list");
        let patterns = Located::<String>::from_values(&[&a, &b]).expect("given");
        assert_eq!((patterns.value.as_str(), patterns.name, patterns.span.start), ("b", "patterns", 9));
        let quotes = Located::<String>::from_values(&[&q]).expect("given");
        assert!(patterns.after(&quotes) && !quotes.after(&patterns));
        assert_eq!(later(Some(&quotes), Some(&patterns)).map(|l| l.name), Some("patterns"));
        assert_eq!(later(Some(&quotes), None).map(|l| l.name), Some("quotes"));
    }

    #[test]
    fn fields_read_defaults_filters_and_globals() {
        let driver = Driver {
            name: "tcp",
            positional: Vec::new(),
            options: vec![
                option("log-iw-size", Value::Int(0)),
                option("flags", Value::Str("No_Parse,threaded".into())),
                option("tags", Value::List(vec![Value::Str("a".into()), Value::Str("B".into())])),
                option("tags", Value::Str("c".into())),
            ],
            span: SPAN,
        };
        let config = Config {
            options: vec![option("keep-hostname", Value::Bool(true)), option("bad-hostname", Value::Str("^x".into()))],
            ..Config::default()
        };
        let globals = Globals::new(&config);
        let read = Sample::read(&Options::new(&driver, &globals));
        assert_eq!(read.size, 100, "0 is filtered out, so the default applies");
        assert_eq!(read.host, None);
        assert!(read.flags.contains("no-parse") && read.flags.contains("threaded"));
        assert_eq!(read.tags, ["a", "B", "c"]);
        assert!(read.keep, "inherited from the globals");
        assert_eq!(read.bad.as_deref(), Some("^x"));
        assert_eq!(Sample::DRIVER_OPTIONS, ["log-iw-size", "host-override", "flags", "tags", "keep-hostname"]);
        assert_eq!(Sample::GLOBAL_OPTIONS, ["keep-hostname", "bad-hostname"]);
    }
}
