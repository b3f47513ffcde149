//! Byte splices. This module knows no formats: an edit is a byte range and the text that
//! replaces it, applied literally (writing them is `transaction`'s).

use std::ops::Range;

/// Replaces `range` of a text with `text` (an insertion when the range is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    pub range: Range<usize>,
    pub text: String,
}

/// Two splices that touch the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub first: Range<usize>,
    pub second: Range<usize>,
}

/// Applies `splices` to `text`. They may come in any order; overlapping ones are refused, and
/// two insertions at one offset are refused too (their order would be a guess).
pub fn apply(text: &str, splices: &[Splice]) -> Result<String, Overlap> {
    let mut sorted: Vec<&Splice> = splices.iter().collect();
    sorted.sort_by_key(|s| (s.range.start, s.range.end));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut prev: Option<&Range<usize>> = None;
    for s in sorted {
        if let Some(p) = prev {
            let touches = s.range.start < p.end
                || (s.range.start == p.start && (s.range.is_empty() || p.is_empty()));
            if touches {
                return Err(Overlap {
                    first: p.clone(),
                    second: s.range.clone(),
                });
            }
        }
        debug_assert!(s.range.start <= s.range.end && s.range.end <= text.len());
        out.push_str(&text[pos..s.range.start]);
        out.push_str(&s.text);
        pos = s.range.end;
        prev = Some(&s.range);
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn splice(range: Range<usize>, text: &str) -> Splice {
        Splice {
            range,
            text: text.to_string(),
        }
    }

    #[test]
    fn applies_in_any_order() {
        let out = apply(
            "abcdef",
            &[splice(4..5, "E"), splice(0..1, "A"), splice(2..2, "+")],
        )
        .expect("ok");
        assert_eq!(out, "Ab+cdEf");
    }

    #[test]
    fn refuses_overlaps() {
        assert!(apply("abcdef", &[splice(0..3, "x"), splice(2..4, "y")]).is_err());
        assert!(apply("abcdef", &[splice(2..2, "x"), splice(2..2, "y")]).is_err());
        assert!(apply("abcdef", &[splice(0..2, "x"), splice(2..4, "y")]).is_ok());
    }

    proptest! {
        /// Bytes outside the splices are identical, in order, and each splice's text sits where
        /// its range was.
        #[test]
        fn bytes_outside_splices_stay(text in "[a-z\\n]{0,60}", cuts in proptest::collection::vec((0usize..60, 0usize..4, "[A-Z]{0,3}"), 0..5)) {
            let mut splices: Vec<Splice> = Vec::new();
            for (start, len, new) in cuts {
                let start = start.min(text.len());
                let end = (start + len).min(text.len());
                let candidate = splice(start..end, &new);
                let clash = splices.iter().any(|s| candidate.range.start < s.range.end && s.range.start < candidate.range.end
                    || candidate.range.start == s.range.start);
                if !clash { splices.push(candidate); }
            }
            let out = apply(&text, &splices).expect("disjoint splices apply");
            let mut sorted = splices.clone();
            sorted.sort_by_key(|s| s.range.start);
            let mut expected = String::new();
            let mut pos = 0;
            for s in &sorted {
                prop_assert!(out.len() >= expected.len());
                expected.push_str(&text[pos..s.range.start]);
                expected.push_str(&s.text);
                pos = s.range.end;
            }
            expected.push_str(&text[pos..]);
            prop_assert_eq!(out, expected);
        }
    }
}
