//! The call parts of the protocol: what the popup and call window see of each
//! call, the call settings, and the media messages between the worker and the
//! offscreen document (which owns the `RTCPeerConnection`s).
//!
//! Media messages travel by `chrome.runtime.sendMessage` like everything else,
//! so every extension page receives them: their `type`s all start with
//! `media_` and pages other than the offscreen document must ignore them
//! (and not answer). The worker decodes the offscreen document's replies with
//! [`MediaReply::decode`]; it never trusts them further than their types.

use serde::{Deserialize, Serialize};

use super::{decode, encode, Message, ProtocolError};
use crate::settings::Ringtone;

/// The worker's id of a call, stable for the call's life (also across a
/// worker restart). Not the SIP Call-ID.
pub type CallId = u64;

/// Most calls at once: six on hold plus the one talking (and one ringing).
pub const MAX_CALLS: usize = 8;
/// Longest DTMF string in one `dtmf` command.
pub const MAX_DTMF_DIGITS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    Outgoing,
    Incoming,
}

/// What the call is doing, as the UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    /// Outgoing: media being prepared or INVITE sent, nothing back yet.
    Dialing,
    /// Outgoing: the far end rings (180/183).
    Early,
    /// Incoming: ringing here, waiting for answer/decline.
    Ringing,
    /// Talking.
    Active,
    /// Put on hold by us.
    Held,
    /// Over; kept in the snapshot for a few seconds so the UI can say why.
    Ended,
}

/// Why a call ended, for the UI's last word on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEnd {
    HungUp,
    RemoteHungUp,
    /// The caller gave up, or another device answered.
    Cancelled,
    Busy,
    /// Refused by the callee or the PBX (see `status_code`).
    Rejected,
    /// Declined here.
    Declined,
    /// Sent to voicemail / redirected.
    Forwarded,
    Transferred,
    Replaced,
    /// Microphone or WebRTC failure in the offscreen document.
    MediaFailed,
    Timeout,
    ConnectionLost,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallView {
    pub id: CallId,
    pub direction: CallDirection,
    /// The remote party: SIP user part (the number), or the whole URI when
    /// it has none.
    pub number: String,
    /// Display name from From/To, if the remote side sent one.
    #[serde(default)]
    pub name: Option<String>,
    pub state: CallPhase,
    #[serde(default)]
    pub muted: bool,
    /// The far end put us on hold.
    #[serde(default)]
    pub remote_hold: bool,
    /// The connection to the PBX dropped under this call: it waits for a new
    /// one (the media may go on meanwhile).
    #[serde(default)]
    pub reconnecting: bool,
    /// An incoming call that rings while another call is up (call waiting):
    /// answering it holds the others.
    #[serde(default)]
    pub waiting: bool,
    /// Unix ms when the call was dialled / started ringing.
    pub started_at: f64,
    /// Unix ms when it was answered.
    #[serde(default)]
    pub answered_at: Option<f64>,
    /// Set once `state` is `ended`.
    #[serde(default)]
    pub end: Option<CallEnd>,
    /// SIP status that ended it, when there was one (486, 603, 404…).
    #[serde(default)]
    pub status_code: Option<u16>,
    /// The other call this one is mixed with (`merge`), if any.
    #[serde(default)]
    pub merged_with: Option<CallId>,
    /// A transfer this call asked for is in progress (sipfrag code so far).
    #[serde(default)]
    pub transfer_status: Option<u16>,
    /// DTMF digits received from the far end during this call.
    #[serde(default)]
    pub dtmf_received: String,
    /// A video call: video asked for (dialling), offered (ringing), or on
    /// in both directions (answered); false once switched to audio.
    #[serde(default)]
    pub video: bool,
}

/// An ICE server for the offscreen document's `RTCPeerConnection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:host:port` / `turn:host:port?transport=udp` / `turns:…`.
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Settings of the call features, stored in chrome.storage.local under
/// [`CALL_SETTINGS_KEY`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallSettings {
    /// Where `send_to_voicemail` redirects an incoming call (302 Contact);
    /// `None`: the command is refused with `not_configured`.
    pub voicemail_target: Option<String>,
    /// Number or feature code `park` transfers the call to.
    pub park_target: Option<String>,
    /// None by default: on a LAN or behind the PBX's media relay no STUN is
    /// needed, and an unreachable one must not slow calls down.
    pub ice_servers: Vec<IceServer>,
    /// Longest wait for ICE candidates before the SDP goes out anyway.
    pub ice_timeout_ms: u32,
    /// Send DTMF as SIP INFO instead of RTP events (RFC 4733), for PBXs that
    /// want it so.
    pub dtmf_info: bool,
}

pub const CALL_SETTINGS_KEY: &str = "call_settings";

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings {
            voicemail_target: None,
            park_target: None,
            ice_servers: Vec::new(),
            ice_timeout_ms: 1500,
            dtmf_info: false,
        }
    }
}

/// Why call settings are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallSettingsError {
    VoicemailTarget,
    ParkTarget,
    IceServer,
    IceTimeout,
}

fn valid_target(target: &str) -> bool {
    let t = target.trim();
    !t.is_empty() && t.len() <= 256 && !t.chars().any(|c| c.is_control() || c == ' ')
}

impl CallSettings {
    pub fn validate(&self) -> Result<(), CallSettingsError> {
        if self
            .voicemail_target
            .as_deref()
            .is_some_and(|t| !valid_target(t))
        {
            return Err(CallSettingsError::VoicemailTarget);
        }
        if self
            .park_target
            .as_deref()
            .is_some_and(|t| !valid_target(t))
        {
            return Err(CallSettingsError::ParkTarget);
        }
        let url_ok = |u: &String| {
            ["stun:", "stuns:", "turn:", "turns:"]
                .iter()
                .any(|p| u.starts_with(p))
                && u.len() <= 256
        };
        if self.ice_servers.len() > 8
            || self
                .ice_servers
                .iter()
                .any(|s| s.urls.is_empty() || s.urls.len() > 4 || !s.urls.iter().all(url_ok))
        {
            return Err(CallSettingsError::IceServer);
        }
        if !(100..=10_000).contains(&self.ice_timeout_ms) {
            return Err(CallSettingsError::IceTimeout);
        }
        Ok(())
    }
}

/// Checks a `dtmf` command's digits: 1–32 of `0-9 * # A-D` (case-insensitive).
pub fn valid_dtmf(digits: &str) -> bool {
    !digits.is_empty()
        && digits.chars().count() <= MAX_DTMF_DIGITS
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c.to_ascii_uppercase(), '*' | '#' | 'A'..='D'))
}

/// Tones the offscreen document can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Incoming call, nothing else going on.
    Ring,
    /// Incoming call while another is up (call waiting): soft beeps.
    Waiting,
    /// Outgoing call ringing, no early media.
    Ringback,
    Busy,
    /// The call failed otherwise (rejected, unreachable, no media): the
    /// faster reorder tone. Busy and failed stop by themselves after a few
    /// seconds.
    Failed,
    /// One short beep on the speaker: a call was just answered by itself
    /// (auto-answer with beep on). It plays over whatever else sounds and
    /// leaves it alone.
    AutoAnswer,
    None,
}

/// The user's audio choices ([`crate::settings::Settings`]) as the offscreen
/// document applies them: `None` is the system default device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaPrefs {
    /// `deviceId` for `getUserMedia`.
    pub microphone: Option<String>,
    /// `setSinkId` of the call audio, ringback and busy tones.
    pub speaker: Option<String>,
    /// `setSinkId` of the ringtone and the call-waiting beeps.
    pub ringer: Option<String>,
    pub ringtone: Ringtone,
}

/// Worker → offscreen document. Each gets one [`MediaReply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediaRequest {
    /// New outgoing call: get the microphone, create the connection and an
    /// offer; reply `media_sdp` once ICE gathering finished or timed out.
    MediaOffer {
        call: CallId,
        ice_servers: Vec<IceServer>,
        ice_timeout_ms: u32,
        /// Add the camera (VP8 first in the codec order); without a camera
        /// the offer is audio only.
        #[serde(default)]
        video: bool,
    },
    /// Answer the remote `sdp` offer; reply `media_sdp`. Without `video`
    /// an offered video stream is refused (port 0).
    MediaAnswer {
        call: CallId,
        sdp: String,
        ice_servers: Vec<IceServer>,
        ice_timeout_ms: u32,
        #[serde(default)]
        video: bool,
    },
    /// The remote answer to our offer (2xx, or 183 early media).
    MediaRemote {
        call: CallId,
        sdp: String,
    },
    /// Local hold: stop sending and playing (`hold: false` resumes).
    MediaHold {
        call: CallId,
        hold: bool,
    },
    MediaMute {
        call: CallId,
        muted: bool,
    },
    /// Send RFC 4733 events; reply `media_dtmf` with `sent: false` if the
    /// connection cannot (the worker then sends SIP INFO).
    MediaDtmf {
        call: CallId,
        digits: String,
    },
    /// Mix these calls' audio so each party hears the others (`calls` empty:
    /// undo the mix).
    MediaMerge {
        calls: Vec<CallId>,
    },
    MediaClose {
        call: CallId,
    },
    MediaTone {
        tone: Tone,
    },
    /// Statistics of one call (tests and the bench read them).
    MediaStats {
        call: CallId,
    },
    /// Which calls the document holds (a restarted worker reconciles).
    MediaList,
    /// The audio devices and ringtone to use from now on (sent before every
    /// new call and tone, and when the settings change).
    MediaPrefs {
        prefs: MediaPrefs,
    },
    /// The far end put the call on hold (`held: true`) or resumed it: the
    /// connection's direction follows, together with our own hold.
    MediaRemoteHold {
        call: CallId,
        held: bool,
    },
    /// Try the microphone once and release it: `media_ok`, or
    /// `media_error` `microphone_denied` when the user must allow it on the
    /// permission page (first run).
    MediaProbe,
    /// What the document is doing (tests and diagnostics).
    MediaStatus,
    /// The call went audio only (our switch or the peer's was accepted):
    /// stop the video transceivers and release the camera.
    MediaVideoOff {
        call: CallId,
    },
}

/// Offscreen document → worker, in reply to a [`MediaRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediaReply {
    MediaSdp {
        call: CallId,
        sdp: String,
    },
    MediaOk,
    MediaDtmf {
        sent: bool,
    },
    MediaStats {
        stats: MediaStats,
    },
    MediaCalls {
        calls: Vec<CallId>,
    },
    MediaStatus {
        status: MediaStatus,
    },
    MediaError {
        error: MediaErrorCode,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaErrorCode {
    /// getUserMedia refused (NotAllowedError): open the permission page.
    MicrophoneDenied,
    /// No input device / capture failed otherwise.
    MicrophoneFailed,
    /// createOffer/setRemoteDescription etc. threw.
    Sdp,
    NoSuchCall,
    BadRequest,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaStats {
    pub bytes_received: f64,
    pub bytes_sent: f64,
    pub packets_received: f64,
    pub packets_sent: f64,
    /// inbound-rtp `audioLevel` (0–1), present once audio plays.
    pub audio_level: Option<f64>,
    /// `performance.now()` in the offscreen document when the first inbound
    /// RTP byte was seen (`call.answer_to_media_ms`).
    pub first_media_at: Option<f64>,
    pub ice_state: String,
    /// Current direction of the audio transceiver.
    pub direction: String,
    pub muted: bool,
    pub held: bool,
    /// The far end holds us.
    pub remote_held: bool,
    /// `setSinkId` of the call's `<audio>` element ("" = default).
    pub sink_id: String,
    /// `deviceId` of the captured microphone track.
    pub microphone: String,
    /// Digits the RFC 4733 sender has played out so far (`ontonechange`).
    pub dtmf_sent: String,
    /// Whether the remote SDP offers `telephone-event`.
    pub dtmf_negotiated: bool,
    /// A video transceiver is live (not stopped).
    pub video: bool,
    /// mimeType of the video codec in use (`video/VP8`), "" without video.
    pub video_codec: String,
    pub frames_decoded: f64,
    pub frames_encoded: f64,
    /// inbound-rtp `frameWidth` of the remote video.
    pub frame_width: f64,
    /// Our camera is captured and enabled (off while held, released once
    /// the call is audio only).
    pub camera: bool,
}

/// The offscreen document's state outside the calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaStatus {
    /// The tone being played (`none` when silent).
    pub tone: Option<Tone>,
    /// The tone's `AudioContext.state` (`running` while it sounds).
    pub tone_state: String,
    /// The tone's output device ("" = default).
    pub tone_sink: String,
    /// The tone's pattern (`classic`, `digital`, `soft` for the ringtone).
    pub tone_pattern: String,
    pub prefs: MediaPrefs,
}

impl Message for MediaRequest {
    const TYPES: &'static [&'static str] = &[
        "media_offer",
        "media_answer",
        "media_remote",
        "media_hold",
        "media_mute",
        "media_dtmf",
        "media_merge",
        "media_close",
        "media_tone",
        "media_stats",
        "media_list",
        "media_prefs",
        "media_remote_hold",
        "media_probe",
        "media_status",
        "media_video_off",
    ];
}
impl Message for MediaReply {
    const TYPES: &'static [&'static str] = &[
        "media_sdp",
        "media_ok",
        "media_dtmf",
        "media_stats",
        "media_calls",
        "media_status",
        "media_error",
    ];
}

impl MediaRequest {
    pub fn decode(text: &str) -> Result<MediaRequest, ProtocolError> {
        decode(text)
    }
    pub fn encode(&self) -> String {
        encode(self)
    }
}

impl MediaReply {
    pub fn decode(text: &str) -> Result<MediaReply, ProtocolError> {
        decode(text)
    }
    pub fn encode(&self) -> String {
        encode(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_messages_have_the_documented_wire_form() {
        let offer = MediaRequest::MediaOffer {
            call: 3,
            ice_servers: vec![],
            ice_timeout_ms: 1500,
            video: false,
        };
        assert_eq!(
            offer.encode(),
            r#"{"call":3,"ice_servers":[],"ice_timeout_ms":1500,"type":"media_offer","v":1,"video":false}"#
        );
        assert_eq!(MediaRequest::decode(&offer.encode()), Ok(offer));
        // A worker from before video calls sends no `video`: audio only.
        assert_eq!(
            MediaRequest::decode(
                r#"{"v":1,"type":"media_offer","call":3,"ice_servers":[],"ice_timeout_ms":1500}"#
            ),
            Ok(MediaRequest::MediaOffer {
                call: 3,
                ice_servers: vec![],
                ice_timeout_ms: 1500,
                video: false
            })
        );
        assert_eq!(
            MediaRequest::MediaVideoOff { call: 3 }.encode(),
            r#"{"call":3,"type":"media_video_off","v":1}"#
        );
        let reply = MediaReply::decode(r#"{"v":1,"type":"media_sdp","call":3,"sdp":"v=0"}"#);
        assert_eq!(
            reply,
            Ok(MediaReply::MediaSdp {
                call: 3,
                sdp: "v=0".into()
            })
        );
        let stats = MediaReply::decode(
            r#"{"v":1,"type":"media_stats","stats":{"bytes_received":1200,"ice_state":"connected"}}"#,
        )
        .unwrap();
        let MediaReply::MediaStats { stats } = stats else {
            panic!("not stats")
        };
        assert_eq!(stats.bytes_received, 1200.0);
        assert_eq!(stats.first_media_at, None);
    }

    #[test]
    fn a_bad_media_reply_is_an_error() {
        for bad in [
            r#"{"v":1,"type":"media_sdp","call":"x","sdp":"v=0"}"#,
            r#"{"v":1,"type":"media_sdp","call":-1,"sdp":"v=0"}"#,
            r#"{"v":1,"type":"get_snapshot"}"#,
            r#"{"v":1,"type":"media_error","error":"boom","message":""}"#,
        ] {
            assert!(MediaReply::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dtmf_digits_are_checked() {
        assert!(valid_dtmf("123*#abcd"));
        assert!(!valid_dtmf(""));
        assert!(!valid_dtmf("12e"));
        assert!(!valid_dtmf(&"1".repeat(MAX_DTMF_DIGITS + 1)));
    }

    #[test]
    fn call_settings_default_to_no_stun_and_a_short_ice_deadline() {
        let s = CallSettings::default();
        assert!(s.ice_servers.is_empty());
        assert_eq!(s.ice_timeout_ms, 1500);
        assert_eq!(s.validate(), Ok(()));
        let s: CallSettings = serde_json::from_str(r#"{"voicemail_target":"*97"}"#).unwrap();
        assert_eq!(s.voicemail_target.as_deref(), Some("*97"));
        let bad = CallSettings {
            ice_servers: vec![IceServer {
                urls: vec!["http://x".into()],
                username: None,
                credential: None,
            }],
            ..CallSettings::default()
        };
        assert_eq!(bad.validate(), Err(CallSettingsError::IceServer));
        let bad = CallSettings {
            park_target: Some("a b".into()),
            ..CallSettings::default()
        };
        assert_eq!(bad.validate(), Err(CallSettingsError::ParkTarget));
    }
}
