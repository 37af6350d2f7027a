//! Any string: the filter parser either refuses it with invalidFilter or accepts a filter
//! that prints to text parsing back to the same filter; evaluation never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_scim::filter::{Filter, FilterLimits};
use portcullis_scim::schema::ResourceSchema;
use portcullis_scim::ScimType;

fuzz_target!(|data: &str| {
    match Filter::parse(data) {
        Ok(f) => {
            let printed = f.to_string();
            // Escapes can make the printed text longer than the input, so no length limit here.
            let unlimited = FilterLimits { max_length: usize::MAX, ..FilterLimits::default() };
            let reparsed = Filter::parse_with(&printed, &unlimited);
            assert_eq!(reparsed.ok().as_ref(), Some(&f), "{printed}");
            let user = serde_json::json!({"userName": "a", "emails": [{"value": "a@b", "type": "work"}]});
            let _ = f.matches(&user, ResourceSchema::user());
            let _ = f.validate(ResourceSchema::user());
        }
        Err(e) => assert_eq!(e.scim_type, Some(ScimType::InvalidFilter)),
    }
});
