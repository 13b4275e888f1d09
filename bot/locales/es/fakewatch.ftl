# fakewatch bot: Spanish (neutral, informal "tú"). Same message ids and variables as
# locales/en/fakewatch.ftl.

## Bot profile and command menu

bot-description =
    Analizo fotos y videos en busca de señales de manipulación de rostros (deepfakes) y leo las etiquetas que las herramientas de IA dejan dentro de los archivos.

    Envíame o reenvíame una foto, un video o un enlace. Te diré qué encontré y con cuánta seguridad.
bot-short-description = Analizo fotos y videos en busca de rostros manipulados y de etiquetas de herramientas de IA.
command-start = qué hace este bot
command-help = cómo analizar una foto o un video
command-check = responde con /check a una foto o un video para analizarlo
command-history = tus últimos análisis
command-settings = la configuración de este chat
command-autocheck = grupos: /autocheck on|off (administradores)
command-threshold = grupos: /threshold uncertain|fake (administradores)

## Commands and general answers

start =
    ¡Hola! Analizo fotos y videos en busca de señales de manipulación de rostros (deepfakes).

    Reenvíame una foto, un video, un GIF o un videomensaje sospechoso, mándalo como archivo o pega un enlace. Te diré qué encontré y qué probabilidad hay de que sea falso. /help explica más.
help =
    <b>Cómo usarme</b>
    • Envía o reenvía una foto, un video, un GIF, un videomensaje o un álbum. También sirven los archivos y los enlaces a una foto o un video.
    • Envía las imágenes como archivo (📎 → Archivo) para conservar las etiquetas que las herramientas de IA ponen en los archivos: Telegram las elimina de las fotos.
    • En un grupo, responde con /check a un mensaje con una foto o un video.
    • Administradores de grupos: con /autocheck on|off analizo en silencio cada foto y video y solo hablo si algo parece manipulado; /threshold uncertain|fake define cuándo.
    • /history muestra tus últimos análisis; /settings, la configuración de este chat.

    <b>Grupos y modo de privacidad</b>: para ver contenido que no va dirigido a mí, necesito ser administrador del grupo o tener desactivado el modo de privacidad (en @BotFather; después, vuelve a agregarme).

    <b>Privacidad</b>: tus archivos se borran justo después del análisis. Solo se guardan una huella del archivo y el resultado, bajo un seudónimo, y se borran { $days ->
        [one] pasado { $days } día
       *[other] pasados { $days } días
    }.

    Un resultado es una estimación de un modelo de aprendizaje automático, no una prueba. Usa los botones 👍/👎 para avisarnos cuando me equivoque.
not-media = Envíame una foto o un video, reenvíalo o mándame un enlace. No puedo analizar este tipo de mensaje.
check-needs-reply = Responde con /check a una foto o un video y lo analizaré.
queued-service-down = El analizador está ocupado o fuera de servicio en este momento. Tu archivo está en la cola y te responderé aquí en cuanto vuelva a funcionar.
rate-limited = Estás enviando muchas cosas a la vez. Espera un minuto antes de enviar más.
rate-limited-chat = En este chat se está enviando mucho a la vez, así que haré una breve pausa en los análisis.
admins-only = Solo los administradores del grupo pueden cambiar esto.
groups-only = Esta opción solo existe en los grupos.
operators-only = Este comando es para los operadores.
operators-private-only = Los comandos de operador solo funcionan en un chat privado conmigo.
autocheck-usage = Uso: /autocheck on  o  /autocheck off
threshold-usage = Uso: /threshold uncertain  o  /threshold fake
autocheck-on =
    Análisis automático activado: analizaré cada foto y video de este chat y solo hablaré cuando alguno parezca { $threshold ->
        [fake] falso
       *[uncertain] dudoso o falso
    }. (Para ver el contenido, necesito ser administrador o tener desactivado el modo de privacidad).
autocheck-off = Análisis automático desactivado. Responde con /check a una foto o un video para analizarlo.
threshold-set =
    A partir de ahora avisaré cuando algo parezca { $threshold ->
        [fake] falso
       *[uncertain] dudoso o falso
    }.
settings-private =
    Chat privado: analizo cada foto y video que me envías.
    Los análisis guardados se borran { $days ->
        [one] pasado { $days } día
       *[other] pasados { $days } días
    }.
settings-group =
    Análisis automático: { $autocheck ->
        [on] activado
       *[off] desactivado
    }
    Aviso cuando algo parece: { $threshold ->
        [fake] falso
       *[uncertain] dudoso o falso
    }
    Los administradores lo cambian con /autocheck on|off y /threshold uncertain|fake.
group-greeting = ¡Hola! Responde con /check a una foto o un video y buscaré rostros manipulados. Administradores: con /autocheck on analizo en silencio todas las fotos y videos.

## Feedback buttons and their answers (plain text)

feedback-right = 👍 Correcto
feedback-wrong = 👎 Incorrecto
feedback-thanks = ¡Gracias, lo tendremos en cuenta!
feedback-already = Ya respondiste. ¡Gracias!
feedback-gone = Este análisis ya no está guardado.

## History

history-empty = Todavía no tienes análisis guardados.
history-private-only = Tu historial es privado: envíame /history en un chat privado.
history-title = <b>Tus últimos análisis</b>
history-row = { $when } — { $kind ->
        [image] foto
        [video] video
       *[other] archivo
    }: { $verdict ->
        [real] sin señales de manipulación
        [uncertain] dudoso
        [fake] probablemente falso
        [no_face] sin rostros
        [invalid] no se pudo leer
        [queued] en espera
        [running] analizando
        [failed] sin analizar
       *[other] { $verdict }
    } ({ $percent })
percent = { NUMBER($probability, style: "percent") }
no-percent = —

## Problems with a file or with the check

gave-up = Lo siento, no pude analizarlo a tiempo. Vuelve a enviarlo más tarde.
internal-error = Lo siento, algo falló por mi parte al analizarlo.
download-failed = Lo siento, Telegram no me entregó este archivo. Vuelve a enviarlo.
check-timed-out = Lo siento, analizar este archivo tardó demasiado cada vez que lo intenté, así que me rendí. Una versión más corta o más pequeña puede funcionar.
too-large = Este archivo es demasiado grande: puedo descargar como máximo { NUMBER($limit_mb, maximumFractionDigits: 0) } MB de Telegram. Envía una versión más corta o más pequeña.
too-large-size = Este archivo es demasiado grande ({ NUMBER($size_mb, minimumFractionDigits: 1, maximumFractionDigits: 1) } MB): puedo descargar como máximo { NUMBER($limit_mb, maximumFractionDigits: 0) } MB de Telegram. Envía una versión más corta o más pequeña.
invalid = ❌ { $reason }
invalid-empty = El archivo está vacío.
invalid-unsupported = No es una foto ni un video que yo pueda leer.
invalid-corrupt = Parece una foto o un video, pero está dañado y no puedo leerlo.
invalid-too-large = Este archivo es demasiado grande para analizarlo.
invalid-too-long = Este video es demasiado largo para analizarlo.
invalid-timeout = Leer este archivo tardaba demasiado, así que lo dejé.
invalid-other = No pude leer este archivo como foto o video.

## Results: headlines

verdict-real = ✅ <b>No se encontraron señales de manipulación de rostros</b>
verdict-uncertain = ⚠️ <b>Dudoso: los rostros podrían estar manipulados</b>
verdict-fake-faces = 🚨 <b>Probablemente falso: hay señales de manipulación de rostros</b>
verdict-fake-provenance = 🚨 <b>Hecho con IA, según el propio archivo</b>
verdict-no-face = 🙂 <b>No se encontraron rostros</b>

## Results: details

score =
    Probabilidad de manipulación: <b>{ $percent }</b> · { $kind ->
        [video] { $count ->
            [one] { $count } persona analizada
           *[other] { $count } personas analizadas
        }
       *[image] { $count ->
            [one] { $count } rostro analizado
           *[other] { $count } rostros analizados
        }
    }
real-limits =
    <i>Solo analizo rostros, así que esto no demuestra que { $kind ->
        [video] el video sea auténtico
       *[image] la foto sea auténtica
    }: los cambios en otras partes de la imagen, o una escena creada por completo con IA, pueden pasar desapercibidos.</i>
uncertain-explain = Algunas señales apuntan a una manipulación, pero no bastan para afirmarlo con seguridad. Tómalo con cautela y busca dónde apareció por primera vez.
uncertain-small-faces = Las caras son demasiado pequeñas para juzgar: a este tamaño se pierden las huellas de un intercambio. Envía una imagen más grande o el archivo original.
fake-faces-explain = Mi modelo de análisis de rostros encontró estas señales. Es una estimación, no una prueba.
moments = Momentos más sospechosos: { $times }
moment = { $minutes }:{ NUMBER($seconds, minimumIntegerDigits: 2, minimumFractionDigits: 1, maximumFractionDigits: 1) }
untrained = <i>Nota: el modelo aún no está entrenado, así que este resultado es solo una demostración.</i>
no-face-explain =
    Busco señales de manipulación en los rostros, así que no puedo juzgar { $kind ->
        [video] este video
       *[image] esta foto
    }.
no-face-no-label = Tampoco hay en el archivo ninguna etiqueta de una herramienta de IA, y una escena generada por completo con IA no se puede reconocer de esta forma.

## Results: what the file itself says

provenance-ai-named =
    { $source ->
        [c2pa] Las credenciales de contenido (C2PA) del archivo indican
        [xmp] Los metadatos del archivo indican
        [png-text] Los ajustes que la herramienta de IA guardó en la imagen indican
        [watermark] Una marca de agua invisible en la imagen indica
       *[other] Una etiqueta del archivo indica
    } que se hizo con <b>{ $generator }</b>.
provenance-ai-unnamed =
    { $source ->
        [c2pa] Las credenciales de contenido (C2PA) del archivo indican
        [xmp] Los metadatos del archivo indican
        [png-text] Los ajustes que la herramienta de IA guardó en la imagen indican
        [watermark] Una marca de agua invisible en la imagen indica
       *[other] Una etiqueta del archivo indica
    } que se hizo con una herramienta de IA.
provenance-signed-valid = Las credenciales tienen firma digital y la firma es válida.
provenance-signed-invalid = Las credenciales están firmadas, pero la firma no es válida: pueden haberse modificado después de firmarlas.
provenance-signed-unverified = Las credenciales están firmadas, pero no pude verificar la firma.
provenance-unsigned = Esta etiqueta no está firmada, así que no se puede verificar, pero la escribe la propia herramienta de IA y rara vez se añade a mano.
provenance-capture-named = Las credenciales de contenido del archivo indican que se capturó con <b>{ $generator }</b>. Estas credenciales se pueden copiar a otro archivo, así que no cambian el resultado.
provenance-capture-unnamed = Las credenciales de contenido del archivo indican que se capturó con una cámara. Estas credenciales se pueden copiar a otro archivo, así que no cambian el resultado.
provenance-neutral-named = El archivo nombra la herramienta con la que se creó o editó, <b>{ $generator }</b>, pero no dice si se usó IA.
provenance-neutral-unnamed = El archivo tiene credenciales de contenido, pero no dicen si se usó IA.
photo-tip = 💡 Telegram elimina de las fotos las credenciales de contenido y otra información del archivo. Para comprobar si el original lleva una etiqueta de una herramienta de IA, envíalo como archivo (📎 → Archivo).

## Albums

album-header =
    <b>Álbum, { $count ->
        [one] { $count } archivo
       *[other] { $count } archivos
    }</b>: { $worst ->
        [fake] 🚨 probablemente falso
        [uncertain] ⚠️ dudoso
        [real] ✅ sin señales de manipulación de rostros
        [no_face] 🙂 no se encontraron rostros
       *[other] ❌ no se pudo leer
    }
album-item =
    { $number }. { $verdict ->
        [real] sin señales de manipulación
        [uncertain] dudoso
       *[fake] probablemente falso
    }, probabilidad de manipulación { $percent }, { $count ->
        [one] { $count } rostro
       *[other] { $count } rostros
    }
album-item-ai-named = { $number }. hecho con IA (<b>{ $generator }</b>), según el propio archivo
album-item-ai-unnamed = { $number }. hecho con IA, según el propio archivo
album-item-no-face = { $number }. no se encontraron rostros
album-item-invalid = { $number }. { $reason }
album-limits = <i>Solo analizo rostros: «sin señales» no demuestra que un archivo sea auténtico.</i>

## Voice and audio

audio-not-checked =
    🎧 Todavía no puedo analizar { $kind ->
        [voice] mensajes de voz
       *[audio] archivos de audio
    }. Por ahora solo analizo fotos y videos, en busca de rostros manipulados.

## Links

link-not-media = 🔗 No encontré ninguna foto ni video en ese enlace. Envía la foto o el video directamente, o un enlace directo al archivo.
link-too-large = 🔗 El archivo de ese enlace es demasiado grande para mí: puedo descargar como máximo { NUMBER($limit_mb, maximumFractionDigits: 0) } MB.
link-timeout = 🔗 Ese enlace tardó demasiado en cargar, así que lo dejé. Inténtalo más tarde o envía el archivo directamente.
link-refused = 🔗 No puedo abrir ese enlace: apunta a una dirección de una red privada o local.
link-http-error = 🔗 El sitio web respondió con un error ({ $status }), así que no pude obtener la foto o el video.
link-unreachable = 🔗 No pude conectar con ese sitio web. Revisa el enlace o envía el archivo directamente.
link-too-many-redirects = 🔗 Ese enlace me redirige a otras direcciones demasiadas veces, así que dejé de seguirlo.
link-preview-image = 🔗 No pude obtener el video de esa página, así que analicé su imagen de vista previa.

## Operators (/stats, /export)

stats-title = <b>Estadísticas de fakewatch</b>
stats-total = Análisis en las últimas 24 horas: { $count }
stats-by-verdict = Por resultado: { $items }
stats-by-status = Por estado: { $items }
stats-latency = Tiempo de respuesta, mediana / percentil 95: { NUMBER($p50, maximumFractionDigits: 0) } / { NUMBER($p95, maximumFractionDigits: 0) } ms
stats-latency-none = Tiempo de respuesta: —
stats-feedback = Opiniones: correcto { $right }, incorrecto { $wrong }
stats-inferences = Análisis hechos por este proceso desde que arrancó: { $count }
export-caption =
    { $count ->
        [one] { $count } análisis
       *[other] { $count } análisis
    }
