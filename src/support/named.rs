//! `named_enum!`: a unit enum whose variants have one name each, used the same way in files
//! (serde), in text (`Display`, `FromStr`) and in code (`name()`, `ALL` in declaration
//! order). The names follow one case rule (`"snake_case"`, `"lowercase"`, `"kebab-case"`).
//! The derives come from serde and strum; this only says them once.

/// `named_enum!("snake_case", /// doc \n pub enum Kind { A, B })`.
macro_rules! named_enum {
    ($case:literal, $(#[$meta:meta])* $vis:vis enum $name:ident { $($body:tt)* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[derive(strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray)]
        #[serde(rename_all = $case)]
        #[strum(serialize_all = $case)]
        $(#[$meta])*
        $vis enum $name { $($body)* }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &[$name] = <$name as strum::VariantArray>::VARIANTS;

            /// The variant's name, as files and reports spell it.
            pub fn name(self) -> &'static str {
                self.into()
            }
        }
    };
}

pub(crate) use named_enum;

/// `s` as a variant of `T`, or `unknown {what} "s" (known: a, b, …)`.
pub fn parse<T>(what: &str, s: &str) -> Result<T, String>
where
    T: std::str::FromStr + strum::VariantArray + Copy + Into<&'static str>,
{
    s.parse().map_err(|_| {
        let known: Vec<&'static str> = T::VARIANTS.iter().map(|v| (*v).into()).collect();
        format!("unknown {what} {s:?} (known: {})", known.join(", "))
    })
}
