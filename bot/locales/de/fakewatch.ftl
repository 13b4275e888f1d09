# fakewatch bot: German (informal "du", as in Telegram's own German interface). Same message ids
# and variables as locales/en/fakewatch.ftl.

## Bot profile and command menu

bot-description =
    Ich prüfe Fotos und Videos auf Anzeichen für manipulierte Gesichter (Deepfakes) und lese die Kennzeichnungen, die KI-Tools in Dateien hinterlassen.

    Schick mir ein Foto, ein Video oder einen Link dazu, oder leite es mir weiter. Ich sage dir, was ich gefunden habe und wie sicher ich mir bin.
bot-short-description = Ich prüfe Fotos und Videos auf manipulierte Gesichter und auf Kennzeichnungen von KI-Tools.
command-start = was dieser Bot kann
command-help = wie du ein Foto oder Video prüfst
command-check = antworte mit /check auf ein Foto oder Video, um es zu prüfen
command-history = deine letzten Prüfungen
command-settings = die Einstellungen dieses Chats
command-autocheck = Gruppen: /autocheck on|off (Admins)
command-threshold = Gruppen: /threshold uncertain|fake (Admins)

## Commands and general answers

start =
    Hallo! Ich prüfe Fotos und Videos auf Anzeichen für manipulierte Gesichter (Deepfakes).

    Leite mir ein verdächtiges Foto, Video, GIF oder eine Videonachricht weiter, schick es als Datei oder füge einen Link dazu ein. Ich antworte dir, was ich gefunden habe und wie wahrscheinlich eine Fälschung ist. Mehr dazu unter /help.
help =
    <b>So funktioniert's</b>
    • Schick oder leite mir ein Foto, Video, GIF, eine Videonachricht oder ein Album weiter. Dateien gehen auch, ebenso Links zu einem Foto oder Video.
    • Schick Bilder als Datei (📎 → Datei), damit die Kennzeichnungen erhalten bleiben, die KI-Tools in Dateien schreiben: Telegram entfernt sie aus Fotos.
    • In einer Gruppe: Antworte mit /check auf eine Nachricht mit Foto oder Video.
    • Gruppen-Admins: Mit /autocheck on|off prüfe ich jedes Foto und Video still und melde mich nur, wenn etwas manipuliert wirkt; /threshold uncertain|fake legt fest, ab wann.
    • /history zeigt deine letzten Prüfungen, /settings die Einstellungen dieses Chats.

    <b>Gruppen und Privatsphäre-Modus</b>: Um Medien zu sehen, die nicht an mich gerichtet sind, muss ich Admin der Gruppe sein oder mein Privatsphäre-Modus muss aus sein (über @BotFather; danach füge mich neu hinzu).

    <b>Datenschutz</b>: Deine Medien werden direkt nach der Prüfung gelöscht. Nur ein Fingerabdruck der Datei und das Ergebnis werden unter einem Pseudonym gespeichert und nach { $days ->
        [one] { $days } Tag
       *[other] { $days } Tagen
    } gelöscht.

    Ein Ergebnis ist eine Schätzung eines Machine-Learning-Modells, kein Beweis. Sag uns mit den Knöpfen 👍/👎, wenn ich falsch liege.
not-media = Bitte schick mir ein Foto oder Video, leite eins weiter oder schick einen Link dazu. Diese Art von Nachricht kann ich nicht prüfen.
check-needs-reply = Antworte mit /check auf ein Foto oder Video, dann prüfe ich es.
queued-service-down = Der Prüfdienst ist gerade ausgelastet oder nicht erreichbar. Deine Anfrage steht in der Warteschlange, und ich antworte hier, sobald er wieder läuft.
rate-limited = Du schickst gerade sehr viel auf einmal. Bitte warte eine Minute, bevor du mehr schickst.
rate-limited-chat = In diesem Chat kommt gerade sehr viel auf einmal, deshalb mache ich kurz Pause mit dem Prüfen.
admins-only = Das können nur die Admins der Gruppe ändern.
groups-only = Diese Einstellung gibt es nur in Gruppen.
operators-only = Dieser Befehl ist für Betreiber.
operators-private-only = Betreiberbefehle funktionieren nur in einem privaten Chat mit mir.
autocheck-usage = So geht's: /autocheck on  oder  /autocheck off
threshold-usage = So geht's: /threshold uncertain  oder  /threshold fake
autocheck-on =
    Die automatische Prüfung ist an: Ich prüfe hier jedes Foto und Video und melde mich nur, wenn etwas { $threshold ->
        [fake] gefälscht
       *[uncertain] unklar oder gefälscht
    } wirkt. (Um Medien zu sehen, muss ich Admin sein oder mein Privatsphäre-Modus muss aus sein.)
autocheck-off = Die automatische Prüfung ist aus. Antworte mit /check auf ein Foto oder Video, um es zu prüfen.
threshold-set =
    Ab jetzt melde ich mich bei Medien, die { $threshold ->
        [fake] gefälscht
       *[uncertain] unklar oder gefälscht
    } wirken.
settings-private =
    Privater Chat: Ich prüfe jedes Foto und Video, das du mir schickst.
    Gespeicherte Prüfungen werden nach { $days ->
        [one] { $days } Tag
       *[other] { $days } Tagen
    } gelöscht.
settings-group =
    Automatische Prüfung: { $autocheck ->
        [on] an
       *[off] aus
    }
    Ich melde mich, wenn etwas { $threshold ->
        [fake] gefälscht
       *[uncertain] unklar oder gefälscht
    } wirkt.
    Admins ändern das mit /autocheck on|off und /threshold uncertain|fake.
group-greeting = Hallo! Antworte mit /check auf ein Foto oder Video, dann prüfe ich es auf manipulierte Gesichter. Admins: Mit /autocheck on prüfe ich alle Medien still.

## Feedback buttons and their answers (plain text)

feedback-right = 👍 Stimmt
feedback-wrong = 👎 Stimmt nicht
feedback-thanks = Danke, notiert!
feedback-already = Du hast schon geantwortet. Danke!
feedback-gone = Diese Prüfung ist nicht mehr gespeichert.

## History

history-empty = Du hast noch keine gespeicherten Prüfungen.
history-private-only = Dein Verlauf ist privat: Schick mir /history in einem privaten Chat.
history-title = <b>Deine letzten Prüfungen</b>
history-row = { $when } — { $kind ->
        [image] Foto
        [video] Video
       *[other] Datei
    }: { $verdict ->
        [real] keine Anzeichen für Manipulation
        [uncertain] unklar
        [fake] wahrscheinlich gefälscht
        [no_face] keine Gesichter
        [invalid] nicht lesbar
        [queued] wartet
        [running] wird geprüft
        [failed] nicht geprüft
       *[other] { $verdict }
    } ({ $percent })
percent = { NUMBER($probability, style: "percent") }
no-percent = —

## Problems with a file or with the check

gave-up = Das konnte ich leider nicht rechtzeitig prüfen. Bitte schick es später noch einmal.
internal-error = Leider ist bei mir beim Prüfen etwas schiefgelaufen.
download-failed = Telegram hat mir diese Datei leider nicht gegeben. Bitte schick sie noch einmal.
check-timed-out = Das Prüfen dieser Datei hat leider jedes Mal zu lange gedauert, deshalb habe ich aufgegeben. Eine kürzere oder kleinere Version könnte klappen.
too-large = Diese Datei ist zu groß: Ich kann höchstens { NUMBER($limit_mb, maximumFractionDigits: 0) } MB von Telegram herunterladen. Bitte schick eine kürzere oder kleinere Version.
too-large-size = Diese Datei ist zu groß ({ NUMBER($size_mb, minimumFractionDigits: 1, maximumFractionDigits: 1) } MB): Ich kann höchstens { NUMBER($limit_mb, maximumFractionDigits: 0) } MB von Telegram herunterladen. Bitte schick eine kürzere oder kleinere Version.
invalid = ❌ { $reason }
invalid-empty = Die Datei ist leer.
invalid-unsupported = Das ist kein Foto oder Video, das ich lesen kann.
invalid-corrupt = Die Datei sieht aus wie ein Foto oder Video, ist aber beschädigt, deshalb kann ich sie nicht lesen.
invalid-too-large = Diese Datei ist zu groß für eine Prüfung.
invalid-too-long = Dieses Video ist zu lang für eine Prüfung.
invalid-timeout = Das Lesen der Datei hat zu lange gedauert, deshalb habe ich aufgegeben.
invalid-other = Ich konnte diese Datei nicht als Foto oder Video lesen.

## Results: headlines

verdict-real = ✅ <b>Keine Anzeichen für manipulierte Gesichter gefunden</b>
verdict-uncertain = ⚠️ <b>Unklar: Die Gesichter könnten manipuliert sein</b>
verdict-fake-faces = 🚨 <b>Wahrscheinlich gefälscht: Anzeichen für manipulierte Gesichter</b>
verdict-fake-provenance = 🚨 <b>Mit KI erstellt – laut der Datei selbst</b>
verdict-no-face = 🙂 <b>Keine Gesichter gefunden</b>

## Results: details

score =
    Wahrscheinlichkeit einer Manipulation: <b>{ $percent }</b> · { $kind ->
        [video] { $count ->
            [one] { $count } Person geprüft
           *[other] { $count } Personen geprüft
        }
       *[image] { $count ->
            [one] { $count } Gesicht geprüft
           *[other] { $count } Gesichter geprüft
        }
    }
real-limits =
    <i>Ich prüfe nur Gesichter, das beweist also nicht, dass { $kind ->
        [video] das Video
       *[image] das Foto
    } echt ist: Änderungen an anderen Stellen im Bild oder eine komplett mit KI erzeugte Szene können unbemerkt bleiben.</i>
uncertain-explain = Einige Anzeichen deuten auf eine Manipulation hin, aber nicht genug, um es sicher zu sagen. Sei vorsichtig und such nach der ursprünglichen Quelle.
uncertain-small-faces = Die Gesichter sind zu klein für ein Urteil: in dieser Größe gehen die Spuren eines Austauschs verloren. Schick ein größeres Bild oder die Originaldatei.
fake-faces-explain = Mein Modell für Gesichter hat diese Anzeichen gefunden. Das ist eine Schätzung, kein Beweis.
moments = Verdächtigste Stellen: { $times }
moment = { $minutes }:{ NUMBER($seconds, minimumIntegerDigits: 2, minimumFractionDigits: 1, maximumFractionDigits: 1) }
untrained = <i>Hinweis: Das Modell ist noch nicht trainiert, dieses Ergebnis ist nur eine Vorführung.</i>
no-face-explain =
    Ich prüfe Gesichter auf Manipulation, deshalb kann ich { $kind ->
        [video] dieses Video
       *[image] dieses Foto
    } nicht beurteilen.
no-face-no-label = Die Datei enthält auch keine Kennzeichnung eines KI-Tools, und eine komplett mit KI erzeugte Szene lässt sich so nicht erkennen.

## Results: what the file itself says

provenance-ai-named =
    Laut { $source ->
        [c2pa] den Inhaltsnachweisen (C2PA)
        [xmp] den Metadaten
        [png-text] den Einstellungen, die das KI-Tool im Bild gespeichert hat,
        [watermark] einem unsichtbaren Wasserzeichen im Bild
       *[other] einer Kennzeichnung in der Datei
    } wurde die Datei mit <b>{ $generator }</b> erstellt.
provenance-ai-unnamed =
    Laut { $source ->
        [c2pa] den Inhaltsnachweisen (C2PA)
        [xmp] den Metadaten
        [png-text] den Einstellungen, die das KI-Tool im Bild gespeichert hat,
        [watermark] einem unsichtbaren Wasserzeichen im Bild
       *[other] einer Kennzeichnung in der Datei
    } wurde die Datei mit einem KI-Tool erstellt.
provenance-signed-valid = Die Nachweise sind digital signiert, und die Signatur ist gültig.
provenance-signed-invalid = Die Nachweise sind signiert, aber die Signatur ist ungültig: Sie wurden nach dem Signieren womöglich verändert.
provenance-signed-unverified = Die Nachweise sind signiert, aber ich konnte die Signatur nicht prüfen.
provenance-unsigned = Diese Kennzeichnung ist nicht signiert und lässt sich daher nicht überprüfen, aber das KI-Tool schreibt sie selbst, und von Hand wird sie selten hinzugefügt.
provenance-capture-named = Laut den Inhaltsnachweisen der Datei wurde die Aufnahme mit <b>{ $generator }</b> gemacht. Solche Nachweise lassen sich auf eine andere Datei übertragen, deshalb ändern sie das Ergebnis nicht.
provenance-capture-unnamed = Laut den Inhaltsnachweisen der Datei wurde die Aufnahme mit einer Kamera gemacht. Solche Nachweise lassen sich auf eine andere Datei übertragen, deshalb ändern sie das Ergebnis nicht.
provenance-neutral-named = Die Datei nennt das Programm, mit dem sie erstellt oder bearbeitet wurde, <b>{ $generator }</b>, sagt aber nicht, ob KI im Spiel war.
provenance-neutral-unnamed = Die Datei enthält Inhaltsnachweise, die aber nicht sagen, ob KI im Spiel war.
photo-tip = 💡 Telegram entfernt Inhaltsnachweise und andere Dateiinformationen aus Fotos. Um zu prüfen, ob das Original eine Kennzeichnung eines KI-Tools trägt, schick es als Datei (📎 → Datei).

## Albums

album-header =
    <b>Album, { $count ->
        [one] { $count } Datei
       *[other] { $count } Dateien
    }</b>: { $worst ->
        [fake] 🚨 wahrscheinlich gefälscht
        [uncertain] ⚠️ unklar
        [real] ✅ keine Anzeichen für manipulierte Gesichter
        [no_face] 🙂 keine Gesichter gefunden
       *[other] ❌ nicht lesbar
    }
album-item =
    { $number }. { $verdict ->
        [real] keine Anzeichen für Manipulation
        [uncertain] unklar
       *[fake] wahrscheinlich gefälscht
    }, Wahrscheinlichkeit einer Manipulation { $percent }, { $count ->
        [one] { $count } Gesicht
       *[other] { $count } Gesichter
    }
album-item-ai-named = { $number }. mit KI erstellt (<b>{ $generator }</b>), laut der Datei selbst
album-item-ai-unnamed = { $number }. mit KI erstellt, laut der Datei selbst
album-item-no-face = { $number }. keine Gesichter gefunden
album-item-invalid = { $number }. { $reason }
album-limits = <i>Ich prüfe nur Gesichter: „keine Anzeichen“ beweist nicht, dass eine Datei echt ist.</i>

## Voice and audio

audio-not-checked =
    🎧 { $kind ->
        [voice] Sprachnachrichten
       *[audio] Audiodateien
    } kann ich noch nicht prüfen. Im Moment prüfe ich nur Fotos und Videos auf manipulierte Gesichter.

## Links

link-not-media = 🔗 Unter diesem Link habe ich kein Foto und kein Video gefunden. Schick mir das Foto oder Video selbst oder einen direkten Link darauf.
link-too-large = 🔗 Die Datei unter diesem Link ist zu groß für mich: Ich kann höchstens { NUMBER($limit_mb, maximumFractionDigits: 0) } MB laden.
link-timeout = 🔗 Der Link hat zu lange zum Laden gebraucht, deshalb habe ich aufgegeben. Versuch es später noch einmal oder schick die Datei selbst.
link-refused = 🔗 Diesen Link kann ich nicht öffnen: Er zeigt auf eine Adresse in einem privaten oder lokalen Netz.
link-http-error = 🔗 Die Website hat mit einem Fehler geantwortet ({ $status }), deshalb konnte ich das Foto oder Video nicht abrufen.
link-unreachable = 🔗 Ich konnte die Website nicht erreichen. Prüf den Link oder schick die Datei selbst.
link-too-many-redirects = 🔗 Dieser Link leitet mich zu oft an andere Adressen weiter, deshalb folge ich ihm nicht mehr.
link-preview-image = 🔗 Das Video auf dieser Seite konnte ich nicht laden, deshalb habe ich stattdessen das Vorschaubild geprüft.

## Operators (/stats, /export)

stats-title = <b>fakewatch-Statistik</b>
stats-total = Prüfungen in den letzten 24 Stunden: { $count }
stats-by-verdict = Nach Ergebnis: { $items }
stats-by-status = Nach Status: { $items }
stats-latency = Antwortzeit, Median / 95. Perzentil: { NUMBER($p50, maximumFractionDigits: 0) } / { NUMBER($p95, maximumFractionDigits: 0) } ms
stats-latency-none = Antwortzeit: —
stats-feedback = Feedback: stimmt { $right }, stimmt nicht { $wrong }
stats-inferences = Prüfungen dieses Workers seit dem Start: { $count }
export-caption =
    { $count ->
        [one] { $count } Prüfung
       *[other] { $count } Prüfungen
    }
