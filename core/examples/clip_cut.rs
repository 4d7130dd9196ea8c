//! Cuts a clip from the command line: `clip_cut FROM_S TO_S exact|keyframe OUT SEGMENT...`.
#![allow(missing_docs)]

use dashkeep_core::clips::{CutRequest, cut_clip};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [from, to, mode, out, segs @ ..] = args.as_slice() else {
        return Err("usage: clip_cut FROM_S TO_S exact|keyframe OUT SEGMENT...".into());
    };
    let req = CutRequest {
        segments: segs.iter().map(Into::into).collect(),
        from_s: from.parse()?,
        to_s: to.parse()?,
        exact: mode == "exact",
    };
    let report = cut_clip(&req, out.as_ref())?;
    println!("{report:#?}");
    Ok(())
}
