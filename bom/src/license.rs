//! Licenses as the BOM formats want them: an SPDX id, an SPDX expression, or a plain name.

/// What a license string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum License {
    /// A license id of the SPDX license list (`Apache-2.0`).
    Id(String),
    /// A valid SPDX expression of more than one id (`MIT OR Apache-2.0`).
    Expression(String),
    /// Anything else (`llama2`, `other`): kept as a name.
    Name(String),
}

impl License {
    /// Classifies `s` (the `aibom.artifact.license` value). Ids are matched exactly (case as
    /// on the SPDX list); aibomd already normalizes what cards and headers declare.
    pub fn classify(s: &str) -> License {
        let s = s.trim();
        if spdx::license_id(s).is_some() {
            return License::Id(s.to_string());
        }
        if s.contains(' ') && spdx::Expression::parse(s).is_ok() {
            return License::Expression(s.to_string());
        }
        License::Name(s.to_string())
    }

    /// An SPDX license expression for this license: names become `LicenseRef-<name>`, with
    /// characters outside `[A-Za-z0-9.-]` replaced by `-`.
    pub fn spdx_expression(&self) -> String {
        match self {
            License::Id(s) | License::Expression(s) => s.clone(),
            License::Name(n) => {
                let clean: String = n
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect();
                format!("LicenseRef-{clean}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_expressions_and_names() {
        assert_eq!(
            License::classify("Apache-2.0"),
            License::Id("Apache-2.0".into())
        );
        assert_eq!(
            License::classify("MIT OR Apache-2.0"),
            License::Expression("MIT OR Apache-2.0".into())
        );
        assert_eq!(License::classify("llama2"), License::Name("llama2".into()));
        assert_eq!(
            License::classify("my license!").spdx_expression(),
            "LicenseRef-my-license-"
        );
        // a lower-case id is not on the list as such: kept as a name, never guessed
        assert_eq!(License::classify("mit"), License::Name("mit".into()));
    }
}
