"""An analog clock face showing the current time (tkinter)."""

import math
import time
import tkinter as tk

SIZE = 300
CENTRE = SIZE // 2


def hand_angles(hours, minutes, seconds):
    """Clockwise angles from twelve o'clock, in degrees, of the hour, minute and second hands."""
    second = seconds * 6
    minute = minutes * 6 + seconds * 0.1
    hour = (hours % 12) * 30 + minutes * 0.5
    return hour, minute, second


def hand_end(angle, length):
    """Where a hand of ``length`` at ``angle`` ends, on the canvas."""
    radians = math.radians(angle)
    return CENTRE + length * math.sin(radians), CENTRE - length * math.cos(radians)


def draw(canvas):
    canvas.delete("all")
    canvas.create_oval(10, 10, SIZE - 10, SIZE - 10, fill="white", outline="black", width=4)
    for mark in range(12):
        x1, y1 = hand_end(mark * 30, CENTRE - 30)
        x2, y2 = hand_end(mark * 30, CENTRE - 15)
        canvas.create_line(x1, y1, x2, y2, width=3)
    now = time.localtime()
    hour, minute, second = hand_angles(now.tm_hour, now.tm_min, now.tm_sec)
    for angle, length, width, colour in ((hour, 70, 8, "black"), (minute, 110, 5, "navy"), (second, 120, 2, "red")):
        canvas.create_line(CENTRE, CENTRE, *hand_end(angle, length), width=width, fill=colour)
    canvas.after(1000, draw, canvas)


def main():
    root = tk.Tk()
    root.title("Clock")
    canvas = tk.Canvas(root, width=SIZE, height=SIZE, bg="lightgrey")
    canvas.pack()
    draw(canvas)
    root.mainloop()


if __name__ == "__main__":
    main()
