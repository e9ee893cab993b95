int high();
