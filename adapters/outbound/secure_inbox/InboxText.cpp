// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/secure_inbox/InboxText.h"

namespace gw::inbox {
namespace {

InboxText english() {
  InboxText t;
  t.lang = "en";
  t.title = "Secure message";
  t.emergency =
      "This inbox is not for emergencies. In an emergency, call 911 or go to the nearest "
      "emergency department.";
  t.dob_heading = "Confirm it is you";
  t.dob_intro = "To protect your privacy, enter your date of birth.";
  t.dob_label = "Date of birth";
  t.dob_hint = "Year-month-day, for example 1975-09-30";
  t.continue_button = "Continue";
  t.bad_date = "Enter your date of birth as year-month-day, for example 1975-09-30.";
  t.code_heading = "Enter your code";
  t.code_intro =
      "If the details you entered match our records, we have sent a 6-digit code to your email "
      "address. It is valid for {{minutes}} minutes.";
  t.code_label = "6-digit code";
  t.verify_button = "Verify";
  t.resend_button = "Send a new code";
  t.bad_code = "Enter the 6 digits of your code.";
  t.code_rejected =
      "The code is not right or has expired, or the details did not match our records. "
      "Attempts left: {{attempts}}.";
  t.code_resent = "If the details match our records, a new code is on its way.";
  t.code_rate_limited = "Too many codes were requested. Please try again in {{minutes}} minutes.";
  t.code_send_failed = "We could not send a code just now. Please try again in a few minutes.";
  t.locked_heading = "This link is locked";
  t.locked_text =
      "There were too many attempts, so for your security this link no longer works. Please "
      "contact your care team.";
  t.expired_heading = "This message has expired";
  t.expired_text =
      "For your privacy, its content has been deleted. Please contact your care team if you "
      "need the information again.";
  t.withdrawn_heading = "This message is no longer available";
  t.withdrawn_text = "Your care team has withdrawn or replaced this message.";
  t.not_found_heading = "This link does not work";
  t.not_found_text = "Please check that you opened the whole link from your notification.";
  t.timed_out_heading = "Your session has ended";
  t.timed_out_text =
      "For your security, you were signed out. Open the link from your notification again.";
  t.rate_limited_heading = "Too many requests";
  t.rate_limited_text = "Please wait {{minutes}} minutes and try again.";
  t.error_heading = "Something went wrong";
  t.error_text = "Please try again in a few minutes.";
  t.bad_request_heading = "This request could not be processed";
  t.bad_request_text = "Please go back, reload the page and try again.";
  t.message_from = "Message from {{facility}}";
  t.links_heading = "Learn more";
  t.replies_heading = "Reply";
  t.stop_label = "STOP: send me no more messages";
  t.reply_thanks = "Thank you. Your reply \"{{label}}\" was sent to your care team.";
  t.stop_thanks = "You will not receive more messages like this one.";
  t.back_to_message = "Back to the message";
  t.sign_out = "Sign out";
  t.signed_out_heading = "You have signed out";
  t.signed_out_text = "You can open the link from your notification again while it is valid.";
  t.notify_subject = "New secure message from {{facility}}";
  t.notify_body =
      "You have a new message from {{facility}}.\n\n"
      "Open it securely here:\n{{link}}\n\n"
      "You will be asked for your date of birth and a one-time code. The link works until "
      "{{date}}.\n\n"
      "This inbox is not for emergencies. In an emergency, call 911.\n";
  t.code_subject = "Your verification code";
  t.code_body =
      "Your code for the secure message from {{facility}} is {{code}}.\n"
      "It is valid for {{minutes}} minutes. Never share it with anyone.\n";
  t.prefs_link = "Message preferences";
  t.prefs_heading = "Your message preferences";
  t.prefs_intro = "These settings apply to every message we send you.";
  t.tz_label = "Your time zone";
  t.tz_hint = "We do not send messages at night in this time zone.";
  t.tz_default = "Same as the hospital";
  t.delay_label = "Delay my test results";
  t.delay_hint =
      "New test results reach you only after this time, so your care team can talk with you "
      "first. 0 means no delay (at most 30 days).";
  t.delay_hours = "hours";
  t.delay_days = "days";
  t.save_button = "Save";
  t.prefs_saved = "Your preferences were saved.";
  t.bad_time_zone = "Choose a time zone from the list.";
  t.bad_delay = "Enter a whole number of hours or days, at most 30 days.";
  t.text_label = "Or write a reply";
  t.text_hint =
      "Write STOP to get no more messages in this inbox, START to get them again, HELP for "
      "help. Do not use this for emergencies.";
  t.send_button = "Send";
  t.text_thanks = "Thank you. Your message was sent to your care team.";
  t.text_stopped = "You will not receive more messages in this inbox. Write START to undo.";
  t.text_started = "You will receive messages in this inbox again.";
  t.bad_text = "Write a reply of up to 1000 characters.";
  return t;
}

InboxText spanish() {
  InboxText t;
  t.lang = "es";
  t.title = "Mensaje seguro";
  t.emergency =
      "Este buzón no es para emergencias. En caso de emergencia, llame al 911 o acuda a la sala "
      "de emergencias más cercana.";
  t.dob_heading = "Confirme que es usted";
  t.dob_intro = "Para proteger su privacidad, escriba su fecha de nacimiento.";
  t.dob_label = "Fecha de nacimiento";
  t.dob_hint = "Año-mes-día, por ejemplo 1975-09-30";
  t.continue_button = "Continuar";
  t.bad_date = "Escriba su fecha de nacimiento como año-mes-día, por ejemplo 1975-09-30.";
  t.code_heading = "Escriba su código";
  t.code_intro =
      "Si los datos que escribió coinciden con nuestros registros, le enviamos un código de 6 "
      "dígitos a su correo electrónico. Es válido durante {{minutes}} minutos.";
  t.code_label = "Código de 6 dígitos";
  t.verify_button = "Verificar";
  t.resend_button = "Enviar un código nuevo";
  t.bad_code = "Escriba los 6 dígitos de su código.";
  t.code_rejected =
      "El código no es correcto o ha caducado, o los datos no coinciden con nuestros registros. "
      "Intentos restantes: {{attempts}}.";
  t.code_resent = "Si los datos coinciden con nuestros registros, le enviamos un código nuevo.";
  t.code_rate_limited =
      "Se pidieron demasiados códigos. Vuelva a intentarlo dentro de {{minutes}} minutos.";
  t.code_send_failed =
      "No pudimos enviar un código en este momento. Vuelva a intentarlo en unos minutos.";
  t.locked_heading = "Este enlace está bloqueado";
  t.locked_text =
      "Hubo demasiados intentos, así que por su seguridad este enlace ya no funciona. Póngase en "
      "contacto con su equipo de atención.";
  t.expired_heading = "Este mensaje ha caducado";
  t.expired_text =
      "Para proteger su privacidad, su contenido se ha eliminado. Póngase en contacto con su "
      "equipo de atención si necesita la información de nuevo.";
  t.withdrawn_heading = "Este mensaje ya no está disponible";
  t.withdrawn_text = "Su equipo de atención retiró o sustituyó este mensaje.";
  t.not_found_heading = "Este enlace no funciona";
  t.not_found_text = "Compruebe que abrió el enlace completo de su notificación.";
  t.timed_out_heading = "Su sesión ha terminado";
  t.timed_out_text =
      "Por su seguridad, se cerró su sesión. Vuelva a abrir el enlace de su notificación.";
  t.rate_limited_heading = "Demasiadas solicitudes";
  t.rate_limited_text = "Espere {{minutes}} minutos y vuelva a intentarlo.";
  t.error_heading = "Algo salió mal";
  t.error_text = "Vuelva a intentarlo en unos minutos.";
  t.bad_request_heading = "No se pudo procesar esta solicitud";
  t.bad_request_text = "Vuelva atrás, recargue la página e inténtelo de nuevo.";
  t.message_from = "Mensaje de {{facility}}";
  t.links_heading = "Más información";
  t.replies_heading = "Responder";
  t.stop_label = "STOP: no quiero recibir más mensajes";
  t.reply_thanks = "Gracias. Su respuesta \"{{label}}\" se envió a su equipo de atención.";
  t.stop_thanks = "No recibirá más mensajes como este.";
  t.back_to_message = "Volver al mensaje";
  t.sign_out = "Cerrar sesión";
  t.signed_out_heading = "Cerró su sesión";
  t.signed_out_text = "Puede volver a abrir el enlace de su notificación mientras sea válido.";
  t.notify_subject = "Nuevo mensaje seguro de {{facility}}";
  t.notify_body =
      "Tiene un mensaje nuevo de {{facility}}.\n\n"
      "Ábralo de forma segura aquí:\n{{link}}\n\n"
      "Se le pedirá su fecha de nacimiento y un código de un solo uso. El enlace funciona hasta "
      "el {{date}}.\n\n"
      "Este buzón no es para emergencias. En caso de emergencia, llame al 911.\n";
  t.code_subject = "Su código de verificación";
  t.code_body =
      "Su código para el mensaje seguro de {{facility}} es {{code}}.\n"
      "Es válido durante {{minutes}} minutos. No lo comparta con nadie.\n";
  t.prefs_link = "Preferencias de mensajes";
  t.prefs_heading = "Sus preferencias de mensajes";
  t.prefs_intro = "Estas opciones se aplican a todos los mensajes que le enviamos.";
  t.tz_label = "Su zona horaria";
  t.tz_hint = "No enviamos mensajes de noche en esta zona horaria.";
  t.tz_default = "La misma que el hospital";
  t.delay_label = "Retrasar mis resultados de pruebas";
  t.delay_hint =
      "Los resultados nuevos le llegan solo después de este tiempo, para que su equipo de "
      "atención pueda hablar antes con usted. 0 significa sin retraso (como máximo 30 días).";
  t.delay_hours = "horas";
  t.delay_days = "días";
  t.save_button = "Guardar";
  t.prefs_saved = "Se guardaron sus preferencias.";
  t.bad_time_zone = "Elija una zona horaria de la lista.";
  t.bad_delay = "Escriba un número entero de horas o días, como máximo 30 días.";
  t.text_label = "O escriba una respuesta";
  t.text_hint =
      "Escriba STOP para no recibir más mensajes en este buzón, START para volver a recibirlos, "
      "HELP para obtener ayuda. No lo use para emergencias.";
  t.send_button = "Enviar";
  t.text_thanks = "Gracias. Su mensaje se envió a su equipo de atención.";
  t.text_stopped = "No recibirá más mensajes en este buzón. Escriba START para deshacerlo.";
  t.text_started = "Volverá a recibir mensajes en este buzón.";
  t.bad_text = "Escriba una respuesta de hasta 1000 caracteres.";
  return t;
}

}  // namespace

const InboxText& inboxText(std::string_view lang) {
  static const InboxText kEnglish = english();
  static const InboxText kSpanish = spanish();
  return lang == "es" ? kSpanish : kEnglish;
}

std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [name, value] : values) {
    const std::string placeholder = "{{" + name + "}}";
    for (std::size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

}  // namespace gw::inbox
