# fakewatch bot: every text the bot sends, in English (the fallback language).
#
# Replies are sent with Telegram's HTML parse mode: <b>, <i> and <a> are markup; the code escapes
# every string argument. Messages whose id starts with "command-", "bot-" or "feedback-" are sent
# as plain text (command menu, bot profile, button labels and button answers): no markup there.
# Every other catalogue must have exactly the same message ids and variables as this one
# (tests/bot/test_i18n.py).

## Bot profile and command menu (setMyDescription, setMyShortDescription, setMyCommands)

bot-description =
    I check photos and videos for signs of face manipulation (deepfakes), and I read the labels that AI tools leave inside files.

    Send or forward me a photo, a video or a link to one. I'll tell you what I found and how sure I am.
bot-short-description = I check photos and videos for manipulated faces and for labels left by AI tools.
command-start = what this bot does
command-help = how to check a photo or video
command-check = reply to a photo or video with /check to check it
command-history = your last checks
command-settings = this chat's settings
command-autocheck = groups: /autocheck on|off (admins)
command-threshold = groups: /threshold uncertain|fake (admins)

## Commands and general answers

start =
    Hi! I check photos and videos for signs of face manipulation (deepfakes).

    Forward me a suspicious photo, video, GIF or video message, send it as a file, or paste a link to it. I'll reply with what I found and how likely it is to be fake. /help explains more.
help =
    <b>How to use me</b>
    • Send or forward a photo, video, GIF, video message or album. Files work too, and so do links to a photo or video.
    • Send pictures as a file (📎 → File) to keep the labels that AI tools put into files: Telegram removes them from photos.
    • In a group, reply to a media message with /check.
    • Group admins: /autocheck on|off makes me check every photo and video silently and speak only when something looks manipulated; /threshold uncertain|fake sets when.
    • /history shows your last checks; /settings shows this chat's settings.

    <b>Groups and privacy mode</b>: to see media that is not addressed to me, I must be a group admin or have privacy mode turned off (via @BotFather, then add me again).

    <b>Privacy</b>: your media is deleted right after the check. Only a fingerprint of the file and the result are kept, under a pseudonym, and deleted after { $days ->
        [one] { $days } day
       *[other] { $days } days
    }.

    A result is an estimate by a machine-learning model, not proof. Use the 👍/👎 buttons to tell us when it is wrong.
not-media = Please send a photo or a video, forward one, or send a link to one. I can't check this kind of message.
check-needs-reply = Reply to a photo or video with /check and I'll check it.
queued-service-down = The checker is busy or offline right now. Your check is queued, and I'll reply here as soon as it's back.
rate-limited = You're sending a lot at once — please wait a minute before sending more.
rate-limited-chat = This chat is sending a lot at once, so I'm taking a short break from checking.
admins-only = Only the group's admins can change this.
groups-only = This setting exists only in groups.
operators-only = This command is for operators.
operators-private-only = Operator commands work only in a private chat with me.
autocheck-usage = Usage: /autocheck on  or  /autocheck off
threshold-usage = Usage: /threshold uncertain  or  /threshold fake
autocheck-on =
    Auto-check is on: I'll check every photo and video here and speak only when one looks { $threshold ->
        [fake] fake
       *[uncertain] uncertain or fake
    }. (To see media, I need to be an admin or have privacy mode off.)
autocheck-off = Auto-check is off. Reply to a photo or video with /check to check it.
threshold-set =
    From now on I'll speak up for media that looks { $threshold ->
        [fake] fake
       *[uncertain] uncertain or fake
    }.
settings-private =
    Private chat: every photo or video you send me is checked.
    Stored checks are deleted after { $days ->
        [one] { $days } day
       *[other] { $days } days
    }.
settings-group =
    Auto-check: { $autocheck ->
        [on] on
       *[off] off
    }
    Speaks up for: { $threshold ->
        [fake] fake
       *[uncertain] uncertain or fake
    }
    Admins change these with /autocheck on|off and /threshold uncertain|fake.
group-greeting = Hi! Reply to a photo or video with /check and I'll check it for manipulated faces. Admins: /autocheck on makes me check all media silently.

## Feedback buttons and their answers (plain text)

feedback-right = 👍 Right
feedback-wrong = 👎 Wrong
feedback-thanks = Thanks, noted!
feedback-already = You already answered — thanks!
feedback-gone = This check is no longer stored.

## History

history-empty = You have no stored checks yet.
history-private-only = Your history is private: send /history to me in a private chat.
history-title = <b>Your last checks</b>
history-row = { $when } — { $kind ->
        [image] image
        [video] video
       *[other] file
    }: { $verdict ->
        [real] no signs of manipulation
        [uncertain] unclear
        [fake] likely fake
        [no_face] no faces
        [invalid] could not read
        [queued] waiting
        [running] checking
        [failed] not checked
       *[other] { $verdict }
    } ({ $percent })
percent = { NUMBER($probability, style: "percent") }
no-percent = —

## Problems with a file or with the check

gave-up = Sorry, I couldn't check this in time. Please send it again later.
internal-error = Sorry, something went wrong on my side while checking this.
download-failed = Sorry, Telegram wouldn't give me this file. Please send it again.
check-timed-out = Sorry, checking this file took too long every time I tried, so I gave up. A shorter or smaller version may work.
too-large = This file is too large: I can download at most { NUMBER($limit_mb, maximumFractionDigits: 0) } MB from Telegram. Please send a shorter or smaller version.
too-large-size = This file is too large ({ NUMBER($size_mb, minimumFractionDigits: 1, maximumFractionDigits: 1) } MB): I can download at most { NUMBER($limit_mb, maximumFractionDigits: 0) } MB from Telegram. Please send a shorter or smaller version.
invalid = ❌ { $reason }
invalid-empty = The file is empty.
invalid-unsupported = This is not an image or video I can read.
invalid-corrupt = This file looks like a photo or video but is damaged, so I can't read it.
invalid-too-large = This file is too large for me to check.
invalid-too-long = This video is too long for me to check.
invalid-timeout = This file took too long to read, so I gave up.
invalid-other = I couldn't read this file as a photo or video.

## Results: headlines

verdict-real = ✅ <b>No signs of face manipulation found</b>
verdict-uncertain = ⚠️ <b>Unclear: the faces may have been manipulated</b>
verdict-fake-faces = 🚨 <b>Likely fake: signs of face manipulation</b>
verdict-fake-provenance = 🚨 <b>Made with AI, according to the file itself</b>
verdict-no-face = 🙂 <b>No faces found</b>

## Results: details

# $percent is a rendered "percent" message; $kind is "image" or "video"; $count is faces (image) or people (video)
score =
    Chance of manipulation: <b>{ $percent }</b> · { $kind ->
        [video] { $count ->
            [one] { $count } person checked
           *[other] { $count } people checked
        }
       *[image] { $count ->
            [one] { $count } face checked
           *[other] { $count } faces checked
        }
    }
real-limits =
    <i>I check faces only, so this does not prove the { $kind ->
        [video] video
       *[image] photo
    } is authentic: changes elsewhere in the picture, or a scene made entirely by AI, can go unnoticed.</i>
uncertain-explain = Some signs point to manipulation, but not enough to say for sure. Treat it with caution and look for where it first appeared.
uncertain-small-faces = The faces are too small to judge: at this size the traces of a swap are gone. Send a larger picture or the original file.
fake-faces-explain = My face-checking model found these signs. It is an estimate, not proof.
moments = Most suspicious moments: { $times }
moment = { $minutes }:{ NUMBER($seconds, minimumIntegerDigits: 2, minimumFractionDigits: 1, maximumFractionDigits: 1) }
untrained = <i>Note: the model is not trained yet, so this result is only a demonstration.</i>
no-face-explain =
    I check faces for signs of manipulation, so I can't judge this { $kind ->
        [video] video
       *[image] photo
    }.
no-face-no-label = The file carries no label from an AI tool either, and a scene generated entirely by AI can't be recognised this way.

## Results: what the file itself says (content credentials, metadata, watermarks)

# $source: "c2pa", "xmp", "png-text" or "watermark"
provenance-ai-named =
    { $source ->
        [c2pa] The file's content credentials (C2PA)
        [xmp] The file's metadata
        [png-text] Settings saved in the image by the AI tool
        [watermark] An invisible watermark in the image
       *[other] A label in the file
    } say it was made with <b>{ $generator }</b>.
provenance-ai-unnamed =
    { $source ->
        [c2pa] The file's content credentials (C2PA)
        [xmp] The file's metadata
        [png-text] Settings saved in the image by the AI tool
        [watermark] An invisible watermark in the image
       *[other] A label in the file
    } say it was made with an AI tool.
provenance-signed-valid = The credentials are digitally signed, and the signature checks out.
provenance-signed-invalid = The credentials are signed, but the signature does not check out: they may have been altered after signing.
provenance-signed-unverified = The credentials are signed, but I couldn't verify the signature.
provenance-unsigned = This label is not signed, so it can't be verified, but it is written by the AI tool itself and rarely added by hand.
provenance-capture-named = The file's content credentials say it was captured with <b>{ $generator }</b>. Credentials like these can be copied onto another file, so they don't change the result.
provenance-capture-unnamed = The file's content credentials say it was captured with a camera. Credentials like these can be copied onto another file, so they don't change the result.
provenance-neutral-named = The file names the tool that made or edited it, <b>{ $generator }</b>, but doesn't say whether AI was used.
provenance-neutral-unnamed = The file carries content credentials, but they don't say whether AI was used.
photo-tip = 💡 Telegram removes content credentials and other file information from photos. To check whether the original carries a label from an AI tool, send it as a file (📎 → File).

## Albums

album-header =
    <b>Album, { $count ->
        [one] { $count } file
       *[other] { $count } files
    }</b>: { $worst ->
        [fake] 🚨 likely fake
        [uncertain] ⚠️ unclear
        [real] ✅ no signs of face manipulation
        [no_face] 🙂 no faces found
       *[other] ❌ could not read
    }
album-item =
    { $number }. { $verdict ->
        [real] no signs of manipulation
        [uncertain] unclear
       *[fake] likely fake
    }, chance of manipulation { $percent }, { $count ->
        [one] { $count } face
       *[other] { $count } faces
    }
album-item-ai-named = { $number }. made with AI (<b>{ $generator }</b>), according to the file itself
album-item-ai-unnamed = { $number }. made with AI, according to the file itself
album-item-no-face = { $number }. no faces found
album-item-invalid = { $number }. { $reason }
album-limits = <i>I check faces only: "no signs" does not prove a file is authentic.</i>

## Voice and audio

audio-not-checked =
    🎧 I can't check { $kind ->
        [voice] voice messages
       *[audio] audio files
    } yet. For now I only check photos and videos, for manipulated faces.

## Links

link-not-media = 🔗 I couldn't find a photo or video at that link. Send the photo or video itself, or a direct link to it.
link-too-large = 🔗 The file at that link is too large for me: I can fetch at most { NUMBER($limit_mb, maximumFractionDigits: 0) } MB.
link-timeout = 🔗 That link took too long to load, so I gave up. Try again later, or send the file itself.
link-refused = 🔗 I can't open that link: it points to a private or local network address.
link-http-error = 🔗 The website answered with an error ({ $status }), so I couldn't get the photo or video.
link-unreachable = 🔗 I couldn't reach that website. Check the link, or send the file itself.
link-too-many-redirects = 🔗 That link sends me on to other addresses too many times, so I stopped following it.
link-preview-image = 🔗 I couldn't fetch the video on that page, so I checked its preview picture instead.

## Operators (/stats, /export)

stats-title = <b>fakewatch stats</b>
stats-total = Checks in the last 24 h: { $count }
stats-by-verdict = By verdict: { $items }
stats-by-status = By status: { $items }
stats-latency = Time to answer, median / 95th percentile: { NUMBER($p50, maximumFractionDigits: 0) } / { NUMBER($p95, maximumFractionDigits: 0) } ms
stats-latency-none = Time to answer: —
stats-feedback = Feedback: right { $right }, wrong { $wrong }
stats-inferences = Checks run by this worker since it started: { $count }
export-caption =
    { $count ->
        [one] { $count } check
       *[other] { $count } checks
    }
