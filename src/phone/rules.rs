//! The user's dialling rules: how a number, once understood, is turned into
//! the digits the PBX expects.

use serde::{Deserialize, Serialize};

use super::Region;

/// How numbers are dialled from the user's phone system. Stored in settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DialRules {
    /// The user's own country: numbers written in national format are read
    /// with its numbering plan, and numbers in it are dialled nationally.
    pub region: Region,
    /// Digits the PBX wants before every external number (often `9`).
    /// Not put before `+`, which the PBX routes as E.164.
    pub outbound_prefix: String,
    /// How numbers in other countries are dialled.
    pub international: InternationalFormat,
    /// How numbers in the user's own country are dialled.
    pub national: NationalFormat,
    /// Numbers this short (or containing `*`/`#`) are PBX extensions or
    /// feature codes: [`normalize_dial`](super::normalize_dial) leaves them
    /// as they are, without the outbound prefix.
    pub internal_max_digits: u8,
}

impl Default for DialRules {
    fn default() -> Self {
        DialRules {
            region: Region::US,
            outbound_prefix: String::new(),
            international: InternationalFormat::RegionPrefix,
            national: NationalFormat::RegionDefault,
            internal_max_digits: 6,
        }
    }
}

impl DialRules {
    /// Default rules for a user in `region`.
    pub fn for_region(region: Region) -> Self {
        DialRules {
            region,
            ..DialRules::default()
        }
    }
}

/// The form of numbers in other countries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InternationalFormat {
    /// `+` and the country code: for PBXs and trunks that take E.164.
    Plus,
    /// The international prefix of the user's region (`00`, `011`, `010`).
    RegionPrefix,
    /// A prefix of the user's choosing.
    Prefix(String),
}

/// The form of numbers in the user's own country.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NationalFormat {
    /// As people in the region dial: with the trunk prefix `0` (GB, DE, FR,
    /// JP, IN, Chinese landlines); ten digits for NANP; Chinese mobiles and
    /// 400/800 numbers without prefix.
    RegionDefault,
    /// Always with the trunk prefix where the plan has one (`1` + ten digits for NANP).
    WithTrunkPrefix,
    /// The national significant number alone.
    WithoutTrunkPrefix,
    /// In international form too, as some SIP trunks want.
    International,
}

impl DialRules {
    /// The dial string of the number `+<cc><nsn>`.
    pub(crate) fn dial(&self, cc: u16, nsn: &str) -> String {
        let own = self.region;
        if cc == own.country_code() {
            let trunk = match self.national {
                NationalFormat::RegionDefault => !matches!(own, Region::US | Region::CA),
                NationalFormat::WithTrunkPrefix => true,
                NationalFormat::WithoutTrunkPrefix => false,
                NationalFormat::International => return self.international_dial(cc, nsn),
            };
            return format!("{}{}", self.outbound_prefix, own.national_form(nsn, trunk));
        }
        self.international_dial(cc, nsn)
    }

    fn international_dial(&self, cc: u16, nsn: &str) -> String {
        match &self.international {
            InternationalFormat::Plus => format!("+{cc}{nsn}"),
            InternationalFormat::RegionPrefix => format!(
                "{}{}{cc}{nsn}",
                self.outbound_prefix,
                self.region.international_prefix()
            ),
            InternationalFormat::Prefix(p) => format!("{}{p}{cc}{nsn}", self.outbound_prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_country_is_dialled_nationally() {
        let gb = DialRules::for_region(Region::GB);
        assert_eq!(gb.dial(44, "2079460958"), "02079460958");
        assert_eq!(gb.dial(1, "4155550132"), "0014155550132");
        let us = DialRules {
            outbound_prefix: "9".into(),
            ..DialRules::default()
        };
        assert_eq!(us.dial(1, "4155550132"), "94155550132");
        assert_eq!(us.dial(44, "2079460958"), "9011442079460958");
    }

    #[test]
    fn plus_form_skips_the_outbound_prefix() {
        let rules = DialRules {
            region: Region::DE,
            outbound_prefix: "0".into(),
            international: InternationalFormat::Plus,
            national: NationalFormat::International,
            internal_max_digits: 4,
        };
        assert_eq!(rules.dial(49, "3012345678"), "+493012345678");
    }

    #[test]
    fn rules_survive_settings_storage() {
        let rules = DialRules {
            international: InternationalFormat::Prefix("00".into()),
            ..DialRules::for_region(Region::CN)
        };
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(serde_json::from_str::<DialRules>(&json).unwrap(), rules);
        let partial: DialRules = serde_json::from_str(r#"{"region":"GB"}"#).unwrap();
        assert_eq!(partial, DialRules::for_region(Region::GB));
    }
}
